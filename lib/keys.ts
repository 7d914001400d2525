import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";

/**
 * Keys derived from 32-byte seeds that Pulumi keeps (random.RandomBytes), so a key is generated once per
 * stack, survives in state, and is stable across runs: an SSH host key that a rebuilt server keeps, a
 * deploy key, and the PostgreSQL CA. Ed25519 signatures are deterministic, so certificates signed with
 * these keys are byte-identical on every run and cause no perpetual diff.
 */
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex");

export function ed25519FromSeed(seedBase64: string): { privateKey: KeyObject; publicKey: KeyObject; seed: Buffer; rawPublic: Buffer } {
  const seed = Buffer.from(seedBase64, "base64");
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes; got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  const rawPublic = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return { privateKey, publicKey, seed, rawPublic };
}

const sshString = (value: Buffer | string) => {
  const bytes = typeof value === "string" ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const uint32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
};

export interface SshKeyPair {
  /** One line for authorized_keys / known_hosts: `ssh-ed25519 AAAA... comment`. */
  publicKey: string;
  /** Unencrypted OpenSSH private key (the `openssh-key-v1` format ssh-keygen writes). */
  privateKey: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** An OpenSSH Ed25519 key pair, deterministic in its seed. */
export function sshKeyPairFromSeed(seedBase64: string, comment: string): SshKeyPair {
  const { seed, rawPublic } = ed25519FromSeed(seedBase64);
  const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(rawPublic)]);
  // The check integer only detects a wrong passphrase; deriving it from the seed keeps the output stable.
  const check = createHash("sha256").update(seed).digest().readUInt32BE(0);
  let privateSection = Buffer.concat([
    uint32(check),
    uint32(check),
    sshString("ssh-ed25519"),
    sshString(rawPublic),
    sshString(Buffer.concat([seed, rawPublic])),
    sshString(comment),
  ]);
  const padding = Buffer.from(Array.from({ length: (8 - (privateSection.length % 8)) % 8 }, (_, index) => index + 1));
  privateSection = Buffer.concat([privateSection, padding]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicBlob),
    sshString(privateSection),
  ]).toString("base64");
  const wrapped = body.match(/.{1,70}/g)?.join("\n") ?? body;
  return {
    publicKey: `ssh-ed25519 ${publicBlob.toString("base64")} ${comment}`,
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrapped}\n-----END OPENSSH PRIVATE KEY-----\n`,
    fingerprint: sshFingerprint(`ssh-ed25519 ${publicBlob.toString("base64")}`),
  };
}

/** `SHA256:<base64 without padding>` of an OpenSSH public key line. */
export function sshFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new Error("not an OpenSSH public key line");
  return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}
