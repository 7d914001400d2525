import type { RateLimitZone } from "../lib/edge";
import { edgeService, port, type SiteRoute, siteService } from "../lib/services";
import { type PublicSite, publicSiteNames } from "../lib/topology";

/**
 * A Caddyfile as a tree of directives, serialised by one function: no string templates, and every
 * argument is quoted when Caddy's tokenizer would otherwise split it.
 */
export interface Directive {
  /** A directive's name, or "#" for comment lines (its args, one per line). */
  name: string;
  args?: string[];
  block?: Directive[];
}

export interface CaddyBlock {
  /** Site addresses, `(snippet)` name, or empty for the global options block. */
  keys: string[];
  directives: Directive[];
}

const quote = (token: string) =>
  /^[^\s"{}]+$/.test(token) || /^\{[^\s"]+\}$/.test(token)
    ? token
    : `"${token.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

function serialize(directives: Directive[], depth: number): string[] {
  const indent = "\t".repeat(depth);
  return directives.flatMap((directive) => {
    if (directive.name === "#") return (directive.args ?? []).map((line) => `${indent}# ${line}`);
    const head = [directive.name, ...(directive.args ?? []).map(quote)].join(" ");
    if (!directive.block) return [`${indent}${head}`];
    return [`${indent}${head} {`, ...serialize(directive.block, depth + 1), `${indent}}`];
  });
}

export function serializeCaddyfile(blocks: CaddyBlock[]): string {
  return `${blocks
    .map((block) =>
      [`${block.keys.join(", ")}${block.keys.length ? " " : ""}{`, ...serialize(block.directives, 1), "}"].join("\n"),
    )
    .join("\n\n")}\n`;
}

export const securityHeaders: Record<string, string> = {
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "strict-origin-when-cross-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
};

export interface CaddyfileInput {
  acmeEmail: string;
  /** Certificates from Caddy's internal CA instead of ACME (the dev tier, whose names are not public). @default false */
  localCertificates?: boolean;
  /** Upstream services this environment does not run; their sites answer 503 and say so. @default [] */
  absentServices?: string[];
  hostnames: Record<PublicSite, string>;
  /** The name Caddy dials each upstream service by (its release alias, see releaseAliases). @default the service's name */
  releaseAliases?: Record<string, string>;
  /** Zones per site; the rate-limit component decides which sites get which zones. */
  rateLimits: Partial<Record<PublicSite, RateLimitZone[]>>;
}

const snippet = "security_headers";

/** The snippet every site imports; shared with the smoke test's local Caddy. */
export const securityHeadersSnippet: CaddyBlock = {
  keys: [`(${snippet})`],
  directives: [
    {
      name: "header",
      block: [
        ...Object.entries(securityHeaders).map(([header, value]) => ({ name: header, args: [value] })),
        { name: "-Server" },
      ],
    },
  ],
};

/** Notes for an operator reading the deployed Caddyfile. */
const comment = (...lines: string[]): Directive => ({ name: "#", args: lines });

const rateLimitNote = comment(
  "Keyed by the TCP peer: Caddy faces the internet directly. If a proxy or CDN is ever put in front, key on the",
  "forwarded client address and set trusted_proxies to that proxy's network only (never 0.0.0.0/0).",
  "Accepted risks: a distributed brute force (many addresses, an IPv6 /64) passes this limit; the SDK's per-account",
  "lockout and CAPTCHA stand behind it. Counters live in memory: a release reloads Caddy and keeps them.",
);

const rateLimitDirective = (zones: RateLimitZone[]): Directive => ({
  name: "rate_limit",
  block: zones.map((zone) => ({
    name: "zone",
    args: [zone.name],
    block: [
      {
        name: "match",
        block: [
          { name: "method", args: zone.methods },
          { name: "path", args: zone.paths },
        ],
      },
      // The TCP peer: Caddy faces the internet directly. Revisit (trusted_proxies) if a proxy is added.
      { name: "key", args: ["{http.request.remote.host}"] },
      { name: "events", args: [String(zone.events)] },
      { name: "window", args: [zone.window] },
    ],
  })),
});

/** Paths of a site the edge refuses, with the reason next to them (Hera's password-policy webhook). */
const internalOnly = ({ internalOnly: paths }: SiteRoute): Directive[] =>
  paths
    ? [
        comment(paths.reason),
        { name: `@${paths.matcher}`, block: [{ name: "path", args: paths.paths }] },
        { name: "respond", args: [`@${paths.matcher}`, "404"] },
      ]
    : [];

/** Athena streams React Server Components; Caddy's default idle timeouts cut those streams. */
const streamingTransport: Directive = {
  name: "transport",
  args: ["http"],
  block: [
    { name: "keepalive", args: ["65s"] },
    { name: "keepalive_idle_conns", args: ["10"] },
    { name: "dial_timeout", args: ["10s"] },
    { name: "response_header_timeout", args: ["60s"] },
    { name: "read_timeout", args: ["120s"] },
  ],
};

/**
 * While a release recreates an upstream container, Caddy holds a request and dials again instead of
 * answering 502; it only retries requests that never reached the upstream, so nothing runs twice.
 */
const retryWhileRecreated: Directive[] = [
  { name: "lb_try_duration", args: ["30s"] },
  { name: "lb_try_interval", args: ["250ms"] },
];

/**
 * A fresh connection per request: a kept-alive one can be closed by an upstream that a release is
 * stopping just as Caddy sends a login POST on it, which Caddy must answer with 502 (it never resends
 * a request that reached the upstream). A new dial to a stopped upstream fails cleanly and is retried.
 */
const freshConnections: Directive = {
  name: "transport",
  args: ["http"],
  block: [{ name: "keepalive", args: ["off"] }],
};

const proxy = (upstream: string, streaming = false): Directive => ({
  name: "reverse_proxy",
  args: [upstream],
  block: [...retryWhileRecreated, streaming ? streamingTransport : freshConnections],
});

/** Where a site's requests go when its upstream is absent: a plain 503 that names what is missing. */
function absentUpstream(
  site: PublicSite,
  service: string,
  dial: (service: string, port: number) => string,
): Directive[] {
  const missing: Directive = {
    name: "respond",
    args: [`${service} is not part of this environment (no image of it can be built here)`, "503"],
  };
  // Without Hera, CIAM's login host still serves Kratos's self-service API, which Hera fronts in production.
  if (site !== "ciamLogin") return [missing];
  return [
    { name: "handle", args: ["/self-service/*"], block: [proxy(dial("ciam-kratos", port("ciam-kratos", "public")))] },
    { name: "handle", block: [missing] },
  ];
}

export function caddyBlocks(input: CaddyfileInput): CaddyBlock[] {
  const global: CaddyBlock = {
    keys: [],
    directives: [
      { name: "email", args: [input.acmeEmail] },
      ...(input.localCertificates ? [{ name: "local_certs" }] : []),
      // rate_limit is a plugin directive without a default position in Caddy's handler order.
      { name: "order", args: ["rate_limit", "before", "basic_auth"] },
      // Request counts and durations by site and status, for the error-ratio and 429 alerts.
      { name: "metrics", block: [{ name: "per_host" }] },
    ],
  };
  // Prometheus scrapes this plain-HTTP site on the compose network; no port of the host publishes it.
  const metrics: CaddyBlock = {
    keys: [`:${port(edgeService, "metrics")}`],
    directives: [{ name: "metrics" }],
  };
  const dial = (service: string, servicePort: number) => `${input.releaseAliases?.[service] ?? service}:${servicePort}`;
  const sites = publicSiteNames.map<CaddyBlock>((site) => {
    const zones = input.rateLimits[site] ?? [];
    const { name: service, route } = siteService(site);
    return {
      keys: [input.hostnames[site]],
      directives: [
        { name: "import", args: [snippet] },
        ...(zones.length ? [rateLimitNote, rateLimitDirective(zones)] : []),
        ...internalOnly(route),
        ...((input.absentServices ?? []).includes(service)
          ? absentUpstream(site, service, dial)
          : [proxy(dial(service, port(service, route.port)), route.streaming)]),
      ],
    };
  });
  return [global, securityHeadersSnippet, ...sites, metrics];
}

export function renderCaddyfile(input: CaddyfileInput): string {
  return serializeCaddyfile(caddyBlocks(input));
}

/** A public site's health endpoint through Caddy, as a smoke test or the blackbox probe asks it. */
export interface PublicHealthCheck {
  site: PublicSite;
  hostname: string;
  path: string;
}

/**
 * What each public site answers healthily: its upstream's health endpoint through Caddy, Kratos's
 * self-service API where Hera is absent, nothing where the upstream is absent.
 */
export function publicHealthChecks(
  hostnames: Record<PublicSite, string>,
  absentServices: string[],
): PublicHealthCheck[] {
  return publicSiteNames.flatMap((site) => {
    const { name: service, health } = siteService(site);
    const check = (path: string) => [{ site, hostname: hostnames[site], path }];
    if (!absentServices.includes(service)) return health && "http" in health ? check(health.http.path) : [];
    return site === "ciamLogin" ? check("/self-service/login/api") : [];
  });
}

/** The URL of each public site a smoke test can expect a healthy answer from. */
export function publicHealthUrls(hostnames: Record<PublicSite, string>, absentServices: string[]): string[] {
  return publicHealthChecks(hostnames, absentServices).map(({ hostname, path }) => `https://${hostname}${path}`);
}
