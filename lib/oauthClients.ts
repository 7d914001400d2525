import type { Environment } from "./config/schema";
import { loopbackPort, oauthClientSpecs, services } from "./services";
import type { IdentityDomain, PublicSite } from "./topology";

/**
 * The OAuth2 clients each environment registers in its Hydras, with that environment's own redirect
 * URIs: the services' clients in the catalogue (Athena, the site, pgAdmin). Public clients (Athena, a
 * browser app) hold no secret and must use PKCE; confidential ones get a secret from the stack.
 */
export interface OAuthClient {
  grant_types: string[];
  response_types: string[];
  scope: string;
  hydra: IdentityDomain;
  client_id: string;
  client_name: string;
  /** Whether the stack generates a secret for it (a confidential client). */
  confidential: boolean;
  /** Whether it returns through an operator's SSH tunnel to a loopback port (pgAdmin). */
  tunnelled: boolean;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  subject_type: "public" | "pairwise";
  token_endpoint_auth_method: "none" | "client_secret_basic";
  skip_consent: boolean;
}

export function oauthClients(hostnames: Record<PublicSite, string>): OAuthClient[] {
  return oauthClientSpecs().map(({ service, client }) => {
    const returnTo = client.returnTo;
    const base =
      "sitePath" in returnTo
        ? `https://${hostnames[services[service]!.site!.site]}`
        : // The operator's browser session runs through the SSH tunnel to this loopback port.
          `http://127.0.0.1:${loopbackPort(service, "http")}`;
    return {
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      scope: "openid profile email",
      hydra: client.hydra,
      client_id: client.clientId,
      client_name: client.name,
      confidential: !client.public,
      tunnelled: "loopbackPath" in returnTo,
      redirect_uris: [`${base}${"sitePath" in returnTo ? returnTo.sitePath : returnTo.loopbackPath}`],
      post_logout_redirect_uris: [base],
      subject_type: client.subjectType,
      token_endpoint_auth_method: client.public ? "none" : "client_secret_basic",
      skip_consent: client.skipConsent,
    };
  });
}

/** A client as Hydra's admin API takes it: the definition plus, for a confidential client, its secret. */
export type HydraClientBody = Omit<OAuthClient, "hydra" | "confidential" | "tunnelled"> & { client_secret?: string };

/** The registrations of one Hydra's clients, each confidential one with its secret (by client id). */
export function hydraClientBodies(
  clients: OAuthClient[],
  hydra: IdentityDomain,
  secretOf: (clientId: string) => string,
): HydraClientBody[] {
  return clients
    .filter((client) => client.hydra === hydra)
    .map(({ hydra: _hydra, confidential, tunnelled: _tunnelled, ...body }) => ({
      ...body,
      ...(confidential ? { client_secret: secretOf(body.client_id) } : {}),
    }));
}

/** Every client the stack generates a secret for (confidential or not: Athena's image reads one), by id. */
export const oauthClientIds = oauthClientSpecs().map(({ client }) => client.clientId);

/**
 * What a client's URIs may be: HTTPS everywhere; loopback only for a client that returns through an SSH
 * tunnel (pgAdmin) and, in the dev tier, for anything. Returns the offending URIs.
 */
export function redirectProblems(client: OAuthClient, environment: Environment): string[] {
  const loopback = (uri: string) => /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(`${uri}/`);
  return [...client.redirect_uris, ...client.post_logout_redirect_uris].filter((uri) => {
    if (uri.startsWith("https://") && !/^https:\/\/(localhost|127\.0\.0\.1)[:/]/.test(`${uri}/`)) return false;
    if (loopback(uri)) return !(environment === "dev" || client.tunnelled);
    return true;
  });
}
