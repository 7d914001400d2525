import "reflect-metadata";
import { createHash, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { ed25519FromSeed } from "./keys";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface PostgresTls {
  /** CA certificate every client verifies the server against (sslrootcert). Public. */
  caCertificate: string;
  /** Server certificate with CN and SAN `postgres`, the service name clients dial. Public. */
  serverCertificate: string;
  /** Server private key (PKCS#8 PEM). Secret; PostgreSQL needs it mode 600, owned by uid 70. */
  serverKey: string;
}

const ed25519 = { name: "Ed25519" } as const;
// Fixed dates keep the certificates byte-identical across runs; rotate by replacing the seeds.
const notBefore = new Date("2026-01-01T00:00:00Z");
const notAfter = new Date("2036-01-01T00:00:00Z");

async function importKeys(seedBase64: string) {
  const { privateKey, publicKey } = ed25519FromSeed(seedBase64);
  return {
    privateKey: await webcrypto.subtle.importKey("pkcs8", privateKey.export({ format: "der", type: "pkcs8" }), ed25519, true, ["sign"]),
    publicKey: await webcrypto.subtle.importKey("spki", publicKey.export({ format: "der", type: "spki" }), ed25519, true, ["verify"]),
  };
}

const serialFrom = (seedBase64: string) => `01${createHash("sha256").update(seedBase64).digest("hex").slice(0, 30)}`;

/** A per-stack CA and a server certificate for `postgres`, deterministic in the two seeds. */
export async function postgresTlsFromSeeds(caSeed: string, serverSeed: string, stack: string): Promise<PostgresTls> {
  const caKeys = await importKeys(caSeed);
  const serverKeys = await importKeys(serverSeed);
  const caName = `CN=Olympus PostgreSQL CA (${stack})`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialFrom(caSeed),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ed25519,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serialFrom(serverSeed),
    subject: "CN=postgres",
    issuer: caName,
    notBefore,
    notAfter,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ed25519,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "postgres" }]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeyDer = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", serverKeys.privateKey));
  return {
    caCertificate: ca.toString("pem") + "\n",
    serverCertificate: server.toString("pem") + "\n",
    serverKey: x509.PemConverter.encode(serverKeyDer, "PRIVATE KEY") + "\n",
  };
}
