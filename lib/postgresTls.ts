import "reflect-metadata";
import { createHash, webcrypto } from "node:crypto";
import { p256 } from "@noble/curves/p256";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface PostgresTls {
  /** CA certificate every client verifies the server against (sslrootcert). Public. */
  caCertificate: string;
  /** Server certificate with CN and SAN `postgres`, the service name clients dial. Public. */
  serverCertificate: string;
  /** Server private key (PKCS#8 PEM). Secret; PostgreSQL needs it mode 600, owned by uid 70. */
  serverKey: string;
}

/**
 * ECDSA P-256 keys and SHA-256 signatures: every TLS client of PostgreSQL takes them, libpq's SCRAM
 * channel binding included (it hashes the server's certificate with the digest of its signature, which
 * an Ed25519 certificate has none of: psql then fails with "could not find digest for NID UNDEF").
 */
const ecdsa = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/**
 * WebCrypto, except that ECDSA signs as RFC 6979 says (noble-curves): WebCrypto draws a random nonce, and
 * the certificates must come out byte-identical on every run from the same seeds.
 */
const deterministicCrypto = {
  getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
  subtle: new Proxy(webcrypto.subtle, {
    get(subtle, property) {
      if (property === "sign") return deterministicSign;
      const value = Reflect.get(subtle, property);
      return typeof value === "function" ? value.bind(subtle) : value;
    },
  }),
} as unknown as Parameters<typeof x509.cryptoProvider.set>[0];

async function deterministicSign(
  algorithm: { name: string },
  key: webcrypto.CryptoKey,
  data: ArrayBuffer | ArrayBufferView,
): Promise<ArrayBuffer> {
  if (algorithm.name !== "ECDSA") throw new Error(`only ECDSA signs PostgreSQL's certificates; got ${algorithm.name}`);
  const { d } = await webcrypto.subtle.exportKey("jwk", key);
  const bytes = ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
  const digest = createHash("sha256").update(bytes).digest();
  return p256.sign(digest, Buffer.from(d!, "base64url")).toCompactRawBytes().slice().buffer;
}
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

/** A P-256 key pair from a 32-byte seed: the seed, reduced into the curve's scalars, is the private key. */
async function importKeys(seedBase64: string) {
  const seed = Buffer.from(seedBase64, "base64");
  if (seed.length !== 32) throw new Error(`a key seed is 32 bytes; got ${seed.length}`);
  const order = p256.CURVE.n;
  const scalar = (BigInt(`0x${seed.toString("hex")}`) % (order - 1n)) + 1n;
  const d = Buffer.from(scalar.toString(16).padStart(64, "0"), "hex");
  const point = p256.getPublicKey(d, false);
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: Buffer.from(point.slice(1, 33)).toString("base64url"),
    y: Buffer.from(point.slice(33, 65)).toString("base64url"),
  };
  return {
    privateKey: await webcrypto.subtle.importKey("jwk", { ...jwk, d: d.toString("base64url") }, ecdsa, true, ["sign"]),
    publicKey: await webcrypto.subtle.importKey("jwk", jwk, ecdsa, true, ["verify"]),
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
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialFrom(caSeed),
      name: caName,
      ...caValidity,
      keys: caKeys,
      signingAlgorithm: ecdsa,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    },
    deterministicCrypto,
  );
  const server = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialFrom(`${serverSeed}/${year}`),
      subject: "CN=postgres",
      issuer: caName,
      ...serverValidity(year),
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ecdsa,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "postgres" }]),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    },
    deterministicCrypto,
  );
  const serverKeyDer = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", serverKeys.privateKey));
  return {
    caCertificate: `${ca.toString("pem")}\n`,
    serverCertificate: `${server.toString("pem")}\n`,
    serverKey: `${x509.PemConverter.encode(serverKeyDer, "PRIVATE KEY")}\n`,
  };
}

/** When a PEM certificate stops being valid. */
export const certificateNotAfter = (pem: string): Date => new x509.X509Certificate(pem).notAfter;
