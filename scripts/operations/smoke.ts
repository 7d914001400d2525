/**
 * `npm run smoke -- STACK` (or `-- --urls '{"site":"https://..."}' --issuers '[...]'`): checks a deployed
 * environment from the outside, as a visitor would: every public URL answers over HTTPS with the
 * security headers, and both Hydras publish their OIDC discovery. Exits non-zero naming what failed.
 */
import { parseArgs } from "node:util";
import { checkDiscovery, checkHttps } from "../../clients/soakGate";
import { securityHeaders } from "../../render/caddyfile";
import { projectDir } from "../toolchain/toolchain";
import { stackOutputs } from "./stacks";

async function main() {
  const { values, positionals } = parseArgs({
    options: { urls: { type: "string" }, issuers: { type: "string" } },
    allowPositionals: true,
  });
  const urls = values.urls
    ? (JSON.parse(values.urls) as Record<string, string>)
    : ((await stackOutputs(projectDir, positionals[0] ?? "staging")).urls as Record<string, string>);
  const issuers = values.issuers
    ? (JSON.parse(values.issuers) as string[])
    : [urls.ciamOauth, urls.iamOauth].filter((url): url is string => Boolean(url));
  // What a visitor can check from outside, with no users and no tunnel: the soak gate's public checks.
  const results = [
    ...(await Promise.all(Object.values(urls).map((url) => checkHttps({ url, headers: securityHeaders })))),
    ...(await Promise.all(issuers.map((issuer) => checkDiscovery(issuer)))),
  ];
  for (const result of results) console.log(`${result.ok ? "ok  " : "FAIL"} ${result.check}: ${result.detail}`);
  const failed = results.filter((result) => !result.ok);
  if (failed.length) {
    console.error(`smoke test failed: ${failed.length} of ${results.length} checks`);
    process.exit(1);
  }
  console.log(`smoke test passed: ${results.length} checks`);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
