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
/**
 * Dates are fixed, never "now", so the certificates are byte-identical across runs. The CA lives ten
 * years (its rotation is a documented three-step change, see README). The server certificate of year Y
 * is valid from the start of Y-1 (so a renewal rehearsed a year ahead is already valid) to the start of
 * Y+2, so each year's first deploy renews it a year before it expires.
 */
const caValidity = { notBefore: new Date("2025-01-01T00:00:00Z"), notAfter: new Date("2036-01-01T00:00:00Z") };
const serverValidity = (year: number) => ({
  notBefore: new Date(Date.UTC(year - 1, 0, 1)),
  notAfter: new Date(Date.UTC(year + 2, 0, 1)),
});

/**
 * The year whose server certificate a run issues: the current UTC year, or OLYMPUS_CERTIFICATE_YEAR to
 * rehearse a coming renewal (dev or staging) before the calendar gets there. Never a past year.
 */
export function certificateYear(override: string | undefined, now = new Date()): number {
  const current = now.getUTCFullYear();
  if (override === undefined || override === "") return current;
  const year = Number(override);
  if (!Number.isInteger(year) || year < current || year >= caValidity.notAfter.getUTCFullYear() - 1) {
    throw new Error(
      `OLYMPUS_CERTIFICATE_YEAR: got ${JSON.stringify(override)}, allowed is a year from ${current} to ${caValidity.notAfter.getUTCFullYear() - 2}`,
    );
  }
  return year;
}

async function importKeys(seedBase64: string) {
  const { privateKey, publicKey } = ed25519FromSeed(seedBase64);
  return {
    privateKey: await webcrypto.subtle.importKey(
      "pkcs8",
      privateKey.export({ format: "der", type: "pkcs8" }),
      ed25519,
      true,
      ["sign"],
    ),
    publicKey: await webcrypto.subtle.importKey(
      "spki",
      publicKey.export({ format: "der", type: "spki" }),
      ed25519,
      true,
      ["verify"],
    ),
  };
}

const serialFrom = (seedBase64: string) => `01${createHash("sha256").update(seedBase64).digest("hex").slice(0, 30)}`;

/**
 * A per-stack CA (its key from the stack's own seed) and the given year's server certificate for
 * `postgres`, deterministic in the seeds. The CA's name carries no stack name: renaming a stack renames
 * nothing, its CA included.
 */
export async function postgresTlsFromSeeds(caSeed: string, serverSeed: string, year: number): Promise<PostgresTls> {
  const caKeys = await importKeys(caSeed);
  const serverKeys = await importKeys(serverSeed);
  const caName = "CN=Olympus PostgreSQL CA";
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialFrom(caSeed),
    name: caName,
    ...caValidity,
    keys: caKeys,
    signingAlgorithm: ed25519,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serialFrom(`${serverSeed}/${year}`),
    subject: "CN=postgres",
    issuer: caName,
    ...serverValidity(year),
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
    caCertificate: `${ca.toString("pem")}\n`,
    serverCertificate: `${server.toString("pem")}\n`,
    serverKey: `${x509.PemConverter.encode(serverKeyDer, "PRIVATE KEY")}\n`,
  };
}

/** When a PEM certificate stops being valid. */
export const certificateNotAfter = (pem: string): Date => new x509.X509Certificate(pem).notAfter;
