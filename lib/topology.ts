/**
 * Facts about the Olympus topology shared by the compose, Caddy, DNS and smoke-test code: which
 * hostnames are public and where the project lives on its host. Which service serves each site, and
 * on which port, is the service catalogue's (lib/services.ts).
 */

/** The public virtual hosts, in the Caddyfile's order. pgAdmin has none on purpose: it is reached over an SSH tunnel only. */
export const publicSites = {
  site: { label: null },
  ciamLogin: { label: "login.ciam" },
  ciamOauth: { label: "oauth.ciam" },
  ciamAdmin: { label: "admin.ciam" },
  iamLogin: { label: "login.iam" },
  iamOauth: { label: "oauth.iam" },
  iamAdmin: { label: "admin.iam" },
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

/** Where the Hetzner volume is mounted and the compose project lives. */
export const dataMountPath = "/srv/olympus";
export const composeProjectDir = `${dataMountPath}/deploy`;
export const deployUser = "deploy";
export const composeProject = "olympus";
