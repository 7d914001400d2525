import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type Role, roleNames } from "../lib/database";
import type { SshKeyPair as KeyPair } from "../lib/keys";
import { oauthClientIds } from "../lib/oauthClients";
import { postgresTlsFromSeeds } from "../lib/postgresTls";
import type { DeploymentSecrets } from "../lib/secrets";
import type { IdentityDomain } from "../lib/topology";

import { SshKeyPair } from "../providers/sshKeyPair";

/**
 * Secrets this component generates; the ones that come from config (SMTP URI, CAPTCHA, the backup
 * repository's keys) are added later.
 */
export type GeneratedSecrets = Omit<
  DeploymentSecrets,
  "smtpUri" | "captchaSecretKey" | "syntheticPassword" | "backup"
> & {
  /** What the backup repository is encrypted with: a new one would make every backup unreadable. */
  backupPassphrase: string;
};

export interface StackSecretsArgs {
  /** Label of the stack, written into the SSH keys' comments when they are first made. */
  stack: string;
  /** Pulumi `protect` on every secret, so no edit or destroy can rotate one (prod). @default false */
  protect?: boolean;
  /** Year whose PostgreSQL server certificate is issued (lib/postgresTls.ts certificateYear). */
  certificateYear: number;
  /**
   * How many times Hydra's system secret has been rotated: each rotation adds a newer secret in front of
   * the ones before, which Hydra keeps decrypting with. @default 0
   */
  hydraSystemRotations?: number;
}

/**
 * Inputs whose change makes @pulumi/random generate a new value. Ignored for the secrets that must never
 * change after the first start (Hydra's pairwise salts re-key every subject, PostgreSQL keeps its first
 * password, the CA and keys are pinned by clients), so an edit of this file cannot rotate them.
 */
const regenerating = [
  "length",
  "special",
  "upper",
  "lower",
  "numeric",
  "number",
  "minLower",
  "minUpper",
  "minNumeric",
  "minSpecial",
  "overrideSpecial",
  "keepers",
];

/**
 * 32 key bytes as hex and base64, derived (SHA-256) from a 64-character password of ~381 bits. Not
 * random.RandomBytes: its resource id is the value itself, and ids are stored in the state unencrypted.
 */
const keyBytes = (password: pulumi.Output<string>) =>
  pulumi.secret(
    password.apply((value) => {
      const digest = createHash("sha256").update(value).digest();
      return { hex: digest.toString("hex"), base64: digest.toString("base64") };
    }),
  );

/**
 * Every secret the stack generates, once: each stack gets its own set by construction, values live
 * only in Pulumi state (encrypted) and never in config or code.
 */
export class StackSecrets extends pulumi.ComponentResource {
  /** All service secrets in the formats Olympus requires. Secret. */
  readonly generated: pulumi.Output<GeneratedSecrets>;
  /** The deploy user's SSH key pair. Secret. */
  readonly deployKey: pulumi.Output<KeyPair>;
  /** The server's SSH host key pair, pinned by every remote step. Secret. */
  readonly hostKey: pulumi.Output<KeyPair>;

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:app:StackSecrets", name, {}, opts);
    const parent = this;
    const protect = args.protect ?? false;

    this.generated = pulumi.secret<GeneratedSecrets>(
      pulumi.output({
        postgresPassword: password("postgres-password", 40, keep()),
        ory: pulumi.output({ ciam: orySecrets("ciam"), iam: orySecrets("iam") }),
        encryptionKey: bytes("encryption-key", keep()).base64,
        sessionSigningKey: bytes("session-signing-key").base64,
        oauthClients: oauthClientSecrets(),
        adminPassword: password("admin-password", 32),
        rolePasswords: rolePasswords(),
        postgresTls: postgresTls(),
        backupPassphrase: password("backup-passphrase", 64, keep()),
      }),
    );
    this.deployKey = keyPair("deploy-key", `deploy@olympus-${args.stack}`);
    this.hostKey = keyPair("host-key", `host@olympus-${args.stack}`);
    this.registerOutputs({});

    /** Options of a secret that must never change after the first start: no input edit regenerates it. */
    function keep(): pulumi.CustomResourceOptions {
      return { parent, protect, ignoreChanges: regenerating };
    }

    function password(part: string, length: number, options: pulumi.CustomResourceOptions = { parent, protect }) {
      return new random.RandomPassword(`${name}-${part}`, { length, special: false }, options).result;
    }

    function bytes(part: string, options: pulumi.CustomResourceOptions = { parent, protect }) {
      return keyBytes(password(part, 64, options));
    }

    function orySecrets(domain: IdentityDomain): pulumi.Output<GeneratedSecrets["ory"]["ciam"]> {
      return pulumi.output({
        kratosCookie: bytes(`${domain}-kratos-cookie`).hex,
        // Kratos requires the cipher secret to be exactly 32 characters; a new one would make its data unreadable.
        kratosCipher: password(`${domain}-kratos-cipher`, 32, keep()),
        hydraSystem: hydraSystemSecrets(domain),
        hydraPairwiseSalt: bytes(`${domain}-hydra-pairwise-salt`, keep()).hex,
      });
    }

    /**
     * Newest first. The first generation keeps its name; each rotation adds `-<generation>`. Every one is
     * kept: a new value would leave Hydra unable to decrypt the keys it stored with the old one.
     */
    function hydraSystemSecrets(domain: IdentityDomain): pulumi.Output<string[]> {
      const generations = Array.from(
        { length: (args.hydraSystemRotations ?? 0) + 1 },
        (_, generation) => bytes(`${domain}-hydra-system${generation === 0 ? "" : `-${generation + 1}`}`, keep()).hex,
      );
      return pulumi.all(generations.reverse());
    }

    /** One per client of the service catalogue, named after it (pgadmin -> pgadmin-client-secret). */
    function oauthClientSecrets(): pulumi.Output<Record<string, string>> {
      return pulumi.output(
        Object.fromEntries(
          oauthClientIds.map((id) => [id, password(`${id.replace(/-client$/, "")}-client-secret`, 48)]),
        ),
      );
    }

    /** One per login role (olympus_monitoring -> monitoring-role-password); the deploy sets it on every run. */
    function rolePasswords(): pulumi.Output<GeneratedSecrets["rolePasswords"]> {
      const passwords = Object.fromEntries(
        roleNames.map((role) => [role, password(`${role.replace(/^olympus_/, "")}-role-password`, 48)]),
      ) as Record<Role, pulumi.Output<string>>;
      return pulumi.output(passwords);
    }

    function postgresTls() {
      return pulumi
        .all([bytes("postgres-ca-seed", keep()).base64, bytes("postgres-server-seed").base64])
        .apply(([caSeed, serverSeed]) => postgresTlsFromSeeds(caSeed, serverSeed, args.certificateYear));
    }

    function keyPair(part: string, comment: string): pulumi.Output<KeyPair> {
      const pair = new SshKeyPair(`${name}-${part}`, { comment }, { parent, protect });
      return pulumi.secret(
        pulumi
          .all([pair.publicKey, pair.privateKey, pair.fingerprint])
          .apply(([publicKey, privateKey, fingerprint]) => ({ publicKey, privateKey, fingerprint })),
      );
    }
  }
}
