import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { sshKeyPairFromSeed, type SshKeyPair } from "../lib/keys";
import { postgresTlsFromSeeds } from "../lib/postgresTls";
import type { identityDomains } from "../lib/topology";
import type { DeploymentSecrets } from "../render/environment";

/** Secrets this component generates; the ones that come from config (SMTP URI, CAPTCHA) are added later. */
export type GeneratedSecrets = Omit<DeploymentSecrets, "smtpUri" | "captchaSecretKey" | "syntheticPassword">;

export interface StackSecretsArgs {
  /** Label of the stack, written into the generated keys' comments and the CA's name. */
  stack: string;
}

/**
 * Every secret the stack generates, once, with @pulumi/random: each stack gets its own set by
 * construction, values live only in Pulumi state (encrypted) and never in config or code. Replacing
 * a resource here rotates that secret; the Hydra pairwise salts must never be rotated.
 */
export class StackSecrets extends pulumi.ComponentResource {
  /** All service secrets in the formats Olympus requires. Secret. */
  readonly generated: pulumi.Output<GeneratedSecrets>;
  /** The deploy user's SSH key pair. Secret. */
  readonly deployKey: pulumi.Output<SshKeyPair>;
  /** The server's SSH host key pair, pinned by every remote step. Secret. */
  readonly hostKey: pulumi.Output<SshKeyPair>;

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:app:StackSecrets", name, {}, opts);
    const password = (part: string, length: number) =>
      new random.RandomPassword(`${name}-${part}`, { length, special: false }, { parent: this }).result;
    const bytes = (part: string) => new random.RandomBytes(`${name}-${part}`, { length: 32 }, { parent: this });

    const orySecrets = (domain: (typeof identityDomains)[number]): pulumi.Output<GeneratedSecrets["ory"]["ciam"]> =>
      pulumi.output({
        kratosCookie: bytes(`${domain}-kratos-cookie`).hex,
        // Kratos requires the cipher secret to be exactly 32 characters.
        kratosCipher: password(`${domain}-kratos-cipher`, 32),
        hydraSystem: bytes(`${domain}-hydra-system`).hex,
        hydraPairwiseSalt: bytes(`${domain}-hydra-pairwise-salt`).hex,
      });

    const postgresTls = pulumi
      .all([bytes("postgres-ca-seed").base64, bytes("postgres-server-seed").base64])
      .apply(([caSeed, serverSeed]) => postgresTlsFromSeeds(caSeed, serverSeed, args.stack));

    this.generated = pulumi.secret<GeneratedSecrets>(
      pulumi.output({
        postgresPassword: password("postgres-password", 40),
        ory: pulumi.output({ ciam: orySecrets("ciam"), iam: orySecrets("iam") }),
        encryptionKey: bytes("encryption-key").base64,
        sessionSigningKey: bytes("session-signing-key").base64,
        oauthClients: pulumi.output({
          athenaCiam: password("athena-ciam-client-secret", 48),
          athenaIam: password("athena-iam-client-secret", 48),
          siteCiam: password("site-ciam-client-secret", 48),
          siteIam: password("site-iam-client-secret", 48),
          pgadmin: password("pgadmin-client-secret", 48),
        }),
        adminPassword: password("admin-password", 32),
        postgresTls,
      }),
    );
    this.deployKey = pulumi.secret(bytes("deploy-key-seed").base64.apply((seed) => sshKeyPairFromSeed(seed, `deploy@olympus-${args.stack}`)));
    this.hostKey = pulumi.secret(bytes("host-key-seed").base64.apply((seed) => sshKeyPairFromSeed(seed, `host@olympus-${args.stack}`)));
    this.registerOutputs({});
  }
}
