import { checkDiscovery, checkHttps, type SmokeResult } from "../seed/soakRuntime";

/** What a visitor can check from outside, with no users and no tunnel: HTTPS with headers, OIDC discovery. */
export async function publicChecks(urls: string[], issuers: string[], headers: Record<string, string>): Promise<SmokeResult[]> {
  return [...(await Promise.all(urls.map((url) => checkHttps({ url, headers })))), ...(await Promise.all(issuers.map(checkDiscovery)))];
}
