/**
 * Facts about the Olympus topology shared by the compose, Caddy, DNS and smoke-test code: which
 * hostnames are public, which container serves each, and where the Ory APIs listen.
 */

/** The public virtual hosts. pgAdmin has none on purpose: it is reached over an SSH tunnel only. */
export const publicSites = {
  site: { label: null, upstream: "site:3000", health: "/health" },
  ciamLogin: { label: "login.ciam", upstream: "ciam-hera:3000", health: "/health" },
  ciamOauth: { label: "oauth.ciam", upstream: "ciam-hydra:5002", health: "/health/ready" },
  ciamAdmin: { label: "admin.ciam", upstream: "ciam-athena:3000", health: "/api/health" },
  iamLogin: { label: "login.iam", upstream: "iam-hera:4000", health: "/health" },
  iamOauth: { label: "oauth.iam", upstream: "iam-hydra:7002", health: "/health/ready" },
  iamAdmin: { label: "admin.iam", upstream: "iam-athena:3000", health: "/api/health" },
} as const;

export type PublicSite = keyof typeof publicSites;
export const publicSiteNames = Object.keys(publicSites) as PublicSite[];

/** Fully qualified hostname of every public site of an environment. */
export function hostnames(domain: string, siteSubdomain: string): Record<PublicSite, string> {
  const names = {} as Record<PublicSite, string>;
  for (const site of publicSiteNames) {
    names[site] = `${publicSites[site].label ?? siteSubdomain}.${domain}`;
  }
  return names;
}

/** The name the server's IPs resolve back to (reverse DNS), and its forward record. */
export const hostRecordLabel = "host";

export const identityDomains = ["ciam", "iam"] as const;
export type IdentityDomain = (typeof identityDomains)[number];

/** Ory ports inside the `intranet` network, and the loopback ports the host publishes them on. */
export const oryPorts = {
  ciam: { kratosPublic: 5000, kratosAdmin: 5001, hydraPublic: 5002, hydraAdmin: 5003 },
  iam: { kratosPublic: 7000, kratosAdmin: 7001, hydraPublic: 7002, hydraAdmin: 7003 },
} as const;

/** Loopback ports on the host: only reachable over SSH (upstream publishes these on 0.0.0.0). */
export const loopbackPorts = {
  ciam: { kratosPublic: 3100, kratosAdmin: 3101, hydraPublic: 3102, hydraAdmin: 3103 },
  iam: { kratosPublic: 4100, kratosAdmin: 4101, hydraPublic: 4102, hydraAdmin: 4103 },
  pgadmin: 5433,
  mailpitUi: 8025,
} as const;

export const databases = ["ciam_kratos", "ciam_hydra", "iam_kratos", "iam_hydra", "olympus"] as const;

/** Where the Hetzner volume is mounted and the compose project lives. */
export const dataMountPath = "/srv/olympus";
export const composeProjectDir = `${dataMountPath}/deploy`;
export const deployUser = "deploy";
export const composeProject = "olympus";

/** The compose service that catches a sandboxed environment's mail (Mailpit). */
export const mailSandboxService = "mailpit";
