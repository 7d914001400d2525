import { createHash } from "node:crypto";

export interface SshKeyPair {
  /** One line for authorized_keys / known_hosts: `ssh-ed25519 AAAA... comment`. */
  publicKey: string;
  /** Unencrypted OpenSSH private key, as ssh-keygen writes it. */
  privateKey: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** A new Ed25519 key pair in OpenSSH's formats (ssh2 writes them). */
export function generateSshKeyPair(comment: string): SshKeyPair {
  const { utils } = require("ssh2") as typeof import("ssh2");
  // ssh2 1.17 drops the leading zero byte of a public key that starts with one, so 1 pair in 256 comes
  // out malformed (a 31-byte key no SSH implementation reads); such a pair is drawn again.
  for (;;) {
    const pair = utils.generateKeyPairSync("ed25519", { comment });
    const parsed = utils.parseKey(pair.private);
    if (parsed instanceof Error || utils.parseKey(pair.public) instanceof Error) continue;
    return { publicKey: pair.public, privateKey: pair.private, fingerprint: sshFingerprint(pair.public) };
  }
}

/** `SHA256:<base64 without padding>` of an OpenSSH public key line, from the key blob ssh2 parses out of it. */
export function sshFingerprint(publicKeyLine: string): string {
  const { utils } = require("ssh2") as typeof import("ssh2");
  const key = utils.parseKey(publicKeyLine);
  if (key instanceof Error) throw new Error(`not an OpenSSH public key line: ${key.message}`);
  const blob = (Array.isArray(key) ? key[0]! : key).getPublicSSH();
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}
