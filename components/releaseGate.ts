import * as pulumi from "@pulumi/pulumi";
import type { SyntheticIdentityPlan } from "../clients/identities";
import type { SoakPlan } from "../clients/soakGate";
import type { Environment, PlainConfig } from "../lib/config/schema";
import { hostEndpoint } from "../lib/endpoint";
import type { OlympusHost } from "../lib/host";
import { identityDomains } from "../lib/topology";
import { Soak } from "../providers/soak";
import { SyntheticUsers } from "../providers/syntheticUsers";
import { securityHeaders } from "../render/caddyfile";

export interface ReleaseGateArgs {
  stack: string;
  environment: Environment;
  /** The host, through whose SSH tunnels the APIs are reached (they answer only on it). */
  host: OlympusHost;
  /** Public URLs that answer when the release is healthy, checked over HTTPS with the security headers. */
  publicHealthUrls: string[];
  /** Issuers of the Hydras, whose discovery documents must name themselves. */
  oidcIssuers: string[];
  /** Root of the private CA the sites' certificates chain to (the dev tier's Caddy CA). @default undefined */
  trustedCa?: pulumi.Input<string>;
  /** Which synthetic identities exist (stack, seed, run). */
  plan: SyntheticIdentityPlan;
  /** Synthetic identities to keep in the CIAM Kratos. */
  count: number;
  /** Their one password. Secret. */
  password: pulumi.Input<string>;
  /** Whether mail lands in the Mailpit sandbox (then the gate checks that a mail arrives). */
  mailSandbox: boolean;
  /** Soak window and SLO; no soak without it. @default undefined */
  soak?: PlainConfig["soak"];
  /** What was deployed; the soak runs once per value. */
  releaseFingerprint: pulumi.Input<string>;
}

/**
 * Staging's synthetic traffic and release gate: the synthetic users in the CIAM Kratos, and the soak
 * that smoke-tests a release and simulates logins before the pipeline may continue to prod.
 */
export class ReleaseGate extends pulumi.ComponentResource {
  readonly users: SyntheticUsers;
  readonly soak?: Soak;

  constructor(name: string, args: ReleaseGateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:seed:ReleaseGate", name, {}, opts);
    const parent = this;

    this.users = createSyntheticUsers();
    if (args.soak) this.soak = createSoak(args.soak, this.users);
    this.registerOutputs({ syntheticUsers: this.users.total });

    function createSyntheticUsers(): SyntheticUsers {
      return new SyntheticUsers(
        `${name}-synthetic-users`,
        {
          stack: args.stack,
          environment: args.environment,
          seed: args.plan.seed,
          run: args.plan.run,
          count: args.count,
          endpoint: hostEndpoint(args.host, "ciam-kratos", "admin"),
          password: args.password,
          hostAwake: args.host.awake,
        },
        { parent },
      );
    }

    function createSoak(slo: PlainConfig["soak"], users: SyntheticUsers): Soak {
      return new Soak(
        `${name}-soak`,
        {
          environment: args.environment,
          releaseFingerprint: args.releaseFingerprint,
          plan: soakPlan(slo),
          hostAwake: args.host.awake,
        },
        { parent, dependsOn: [users] },
      );
    }

    /** What the soak checks, through tunnels to where the host reaches the APIs, and its SLO. */
    function soakPlan(slo: PlainConfig["soak"]): pulumi.Output<SoakPlan> {
      return pulumi
        .output({
          kratosPublic: hostEndpoint(args.host, "ciam-kratos", "public"),
          mailSandbox: args.mailSandbox ? hostEndpoint(args.host, "mailpit", "ui") : null,
          health: identityDomains.flatMap((domain) =>
            (["kratos", "hydra"] as const).flatMap((ory) =>
              (["public", "admin"] as const).map((api) => ({
                name: `${domain} ${ory}${api === "public" ? "Public" : "Admin"}`,
                endpoint: hostEndpoint(args.host, `${domain}-${ory}`, api),
                path: "/health/ready",
              })),
            ),
          ),
          password: args.password,
          trustedCa: pulumi.output(args.trustedCa),
        })
        .apply(({ kratosPublic, mailSandbox, health, password, trustedCa }) => ({
          stack: args.stack,
          https: args.publicHealthUrls.map((url) => ({ url, headers: securityHeaders })),
          trustedCa: trustedCa ?? null,
          health,
          oidcIssuers: args.oidcIssuers,
          kratosPublic,
          users: { ...args.plan, count: args.count, password },
          mailSandbox,
          slo: {
            durationSeconds: slo.durationSeconds,
            loginsPerMinute: slo.loginsPerMinute,
            minSuccessRate: slo.minSuccessRate,
            maxP95Ms: slo.maxP95Ms,
          },
        }));
    }
  }
}
