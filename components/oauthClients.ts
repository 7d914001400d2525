import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../lib/config/schema";
import { hostEndpoint } from "../lib/endpoint";
import type { OlympusHost } from "../lib/host";
import { hydraClientBodies, oauthClients, redirectProblems } from "../lib/oauthClients";
import { identityDomains, type PublicSite } from "../lib/topology";
import { HydraClients } from "../providers/hydraClients";
import type { GeneratedSecrets } from "./stackSecrets";

export interface OAuthClientsArgs {
  stack: string;
  environment: Environment;
  /** The host, through whose SSH tunnels the Hydra admin APIs are reached (they answer only on it). */
  host: OlympusHost;
  /** The environment's public hostnames, which every redirect URI is built from. */
  hostnames: Record<PublicSite, string>;
  /** The confidential clients' secrets. Secret. */
  secrets: pulumi.Input<GeneratedSecrets["oauthClients"]>;
  /** Pulumi `protect` on the registrations: deleted, every sign-in through them fails (prod). @default false */
  protect?: boolean;
}

/**
 * The OAuth2 clients of Athena, the site and pgAdmin, registered in each environment's own Hydras with
 * that environment's redirect URIs: public clients without a secret (Hydra enforces PKCE on them),
 * confidential ones with the stack's secrets. Refuses a loopback redirect outside dev (pgAdmin's
 * tunnel excepted) before anything is registered.
 */
export class OAuthClients extends pulumi.ComponentResource {
  /** Client ids registered per Hydra. */
  readonly registered: pulumi.Output<Record<string, string[]>>;

  constructor(name: string, args: OAuthClientsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:oauth:OAuthClients", name, {}, opts);
    const clients = oauthClients(args.hostnames);
    const problems = clients.flatMap((client) =>
      redirectProblems(client, args.environment).map((uri) => `${client.client_id}: ${uri}`),
    );
    if (problems.length > 0) {
      throw new pulumi.ResourceError(
        `redirect URIs must be HTTPS (loopback only in dev, and for pgAdmin's SSH tunnel); got ${problems.join(", ")}`,
        this,
      );
    }
    const perHydra = identityDomains.map((hydra) => {
      const bodies = pulumi
        .output(args.secrets)
        .apply((secrets) => hydraClientBodies(clients, hydra, (clientId) => secrets[clientId]!));
      const resource = new HydraClients(
        `${name}-${hydra}`,
        {
          environment: args.environment,
          stack: args.stack,
          endpoint: hostEndpoint(args.host, `${hydra}-hydra`, "admin"),
          clients: pulumi.secret(bodies),
          hostAwake: args.host.awake,
        },
        { parent: this, protect: args.protect ?? false },
      );
      return resource.registered.apply((ids) => [hydra, ids] as const);
    });
    this.registered = pulumi.all(perHydra).apply((entries) => Object.fromEntries(entries));
    this.registerOutputs({ registered: this.registered });
  }
}
