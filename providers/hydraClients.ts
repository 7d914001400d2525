import * as pulumi from "@pulumi/pulumi";
import { type ClientRegistration, convergeClients, registeredClients, removeClients } from "../clients/hydraAdmin";
import type { Environment } from "../lib/config/schema";
import type { Endpoint } from "../lib/endpoint";
import type { HydraClientBody } from "../lib/oauthClients";
import { isKnown, isUnknown } from "./dynamic";
import { asleepOutputs, type HostBound, sleepDiff } from "./hostBound";

/** Bump when the provider's behaviour changes: provider code changes are not diffs by themselves. */
export const hydraClientsProviderVersion = "2";

export interface HydraClientsInputs extends ClientRegistration, HostBound {
  providerVersion: string;
  environment: Environment;
}

export interface HydraClientsOutputs extends HydraClientsInputs {
  /** Client ids Hydra holds for this stack, as last seen. */
  registered: string[];
}

/**
 * The OAuth2 clients of one Hydra, converged from what Hydra holds: each desired client is written with
 * PUT (create when absent), and clients this stack registered before but no longer wants are deleted.
 * Other clients in Hydra are never touched.
 */
export const hydraClientsProvider: pulumi.dynamic.ResourceProvider<HydraClientsInputs, HydraClientsOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!isKnown(news.clients) || !Array.isArray(news.clients)) return { inputs: news, failures };
    for (const client of news.clients) {
      if (!isKnown(client)) continue;
      const isPublic = client.token_endpoint_auth_method === "none";
      if (isPublic && client.client_secret)
        failures.push({
          property: "clients",
          reason: `${client.client_id} is a public client (PKCE) and must not carry a secret`,
        });
      if (
        !isPublic &&
        !isUnknown(client.client_secret) &&
        !(typeof client.client_secret === "string" && client.client_secret.length >= 32)
      ) {
        failures.push({
          property: "clients",
          reason: `${client.client_id} is confidential and needs a secret of at least 32 characters`,
        });
      }
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const sleeping = sleepDiff(olds, news);
    if (sleeping) return sleeping;
    const changed = (key: keyof HydraClientsInputs) =>
      isUnknown(news[key]) || JSON.stringify(olds[key]) !== JSON.stringify(news[key]);
    // Where the API is reached (a woken server's tunnel) is not a change of the clients.
    return { changes: changed("clients") || changed("providerVersion") || changed("stack") };
  },

  async create(inputs) {
    if (!inputs.hostAwake) return { id: `${inputs.stack}/hydra-clients`, outs: { ...inputs, registered: [] } };
    const registered = await convergeClients(inputs);
    return { id: `${inputs.stack}/hydra-clients`, outs: { ...inputs, registered } };
  },

  async read(id, props) {
    if (!props) throw new Error(`cannot read Hydra clients ${id} without their recorded inputs`);
    if (props.hostAwake === false) return { id, props };
    return { id, props: { ...props, registered: await registeredClients(props) } };
  },

  async update(_id, olds, news) {
    if (!news.hostAwake) return { outs: asleepOutputs(olds) };
    return { outs: { ...news, registered: await convergeClients(news) } };
  },

  async delete(_id, props) {
    if (props.hostAwake === false) {
      void pulumi.log.info(`Hydra clients of ${props.stack}: the host is asleep, so they stay in its database`);
      return;
    }
    await removeClients(props);
  },
};

export interface HydraClientsArgs {
  environment: pulumi.Input<Environment>;
  stack: pulumi.Input<string>;
  endpoint: pulumi.Input<Endpoint>;
  /** Secret: confidential clients carry their secrets. */
  clients: pulumi.Input<HydraClientBody[]>;
  /** Whether the host's services run; asleep, the resource only keeps its record. */
  hostAwake: pulumi.Input<boolean>;
}

/** The OAuth2 clients of one Hydra, registered through its admin API. */
export class HydraClients extends pulumi.dynamic.Resource {
  declare readonly registered: pulumi.Output<string[]>;

  constructor(name: string, args: HydraClientsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      hydraClientsProvider,
      name,
      { providerVersion: hydraClientsProviderVersion, ...args, registered: undefined },
      { ...opts, additionalSecretOutputs: ["clients", "endpoint"] },
      "olympus:oauth",
      "HydraClients",
    );
  }
}
