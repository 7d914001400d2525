import type { Environment } from "./config";
import { type IdentityDomain, loopbackPorts, type PublicSite } from "./topology";

/**
 * The OAuth2 clients each environment registers in its Hydras, with that environment's own redirect
 * URIs: the apps that sign in through Hydra (Athena, the site, pgAdmin). Public clients (Athena, a
 * browser app) hold no secret and must use PKCE; confidential ones get a secret from the stack.
 */
export interface OAuthClient {
  hydra: IdentityDomain;
  client_id: string;
  client_name: string;
  /** The stack secret of a confidential client; absent for a public client. */
  secret?: "siteCiam" | "siteIam" | "pgadmin";
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  scope: string;
  subject_type: "public" | "pairwise";
  token_endpoint_auth_method: "none" | "client_secret_basic";
  skip_consent: boolean;
}

/** pgAdmin is never public: its browser session runs through the operator's SSH tunnel to this loopback port. */
export const pgadminRedirectUri = `http://127.0.0.1:${loopbackPorts.pgadmin}/oauth2/authorize`;

export function oauthClients(hostnames: Record<PublicSite, string>): OAuthClient[] {
  const url = (site: PublicSite) => `https://${hostnames[site]}`;
  const common = {
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    scope: "openid profile email",
  };
  const athena = (domain: IdentityDomain, site: PublicSite): OAuthClient => ({
    ...common,
    hydra: "iam",
    client_id: `athena-${domain}-client`,
    client_name: `Olympus ${domain.toUpperCase()} Admin`,
    redirect_uris: [`${url(site)}/api/auth/callback`],
    post_logout_redirect_uris: [url(site)],
    // Athena matches the token's subject to the IAM identity: public, not pairwise.
    subject_type: "public",
    token_endpoint_auth_method: "none",
    skip_consent: true,
  });
  const confidential = (
    hydra: IdentityDomain,
    client_id: string,
    client_name: string,
    secret: OAuthClient["secret"],
    redirect: string,
    logout: string,
    skip_consent: boolean,
  ): OAuthClient => ({
    ...common,
    hydra,
    client_id,
    client_name,
    secret,
    redirect_uris: [redirect],
    post_logout_redirect_uris: [logout],
    subject_type: "pairwise",
    token_endpoint_auth_method: "client_secret_basic",
    skip_consent,
  });
  return [
    athena("ciam", "ciamAdmin"),
    athena("iam", "iamAdmin"),
    // Customers consent to the site; employees sign in to it without a consent screen.
    confidential(
      "ciam",
      "site-ciam-client",
      "Olympus Site (CIAM)",
      "siteCiam",
      `${url("site")}/callback/ciam`,
      url("site"),
      false,
    ),
    confidential(
      "iam",
      "site-iam-client",
      "Olympus Site (IAM)",
      "siteIam",
      `${url("site")}/callback/iam`,
      url("site"),
      true,
    ),
    confidential(
      "iam",
      "pgadmin",
      "pgAdmin",
      "pgadmin",
      pgadminRedirectUri,
      `http://127.0.0.1:${loopbackPorts.pgadmin}`,
      true,
    ),
  ];
}

/**
 * What a client's URIs may be: HTTPS everywhere; loopback only for pgAdmin's tunnel and, in the dev
 * tier, for anything. Returns the offending URIs.
 */
export function redirectProblems(client: OAuthClient, environment: Environment): string[] {
  const loopback = (uri: string) => /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(`${uri}/`);
  return [...client.redirect_uris, ...client.post_logout_redirect_uris].filter((uri) => {
    if (uri.startsWith("https://") && !/^https:\/\/(localhost|127\.0\.0\.1)[:/]/.test(`${uri}/`)) return false;
    if (loopback(uri)) return !(environment === "dev" || client.client_id === "pgadmin");
    return true;
  });
}
