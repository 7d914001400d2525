import * as pulumi from "@pulumi/pulumi";
import type { Endpoint } from "../lib/endpoint";
import { type SyntheticIdentityPlan, syntheticIdentity } from "./identities";
import { withEndpoint } from "./tunnel";

/**
 * The release gate's checks. Smoke checks first (public HTTPS with security headers, Ory readiness,
 * OIDC discovery, a real login, a mail in the sandbox), then a soak window of simulated logins whose
 * success rate and p95 latency must meet the SLO. Any failure throws an error naming the check and
 * quoting the failing response, which fails the Pulumi update and stops the pipeline before prod.
 */
export interface SoakPlan {
  stack: string;
  /** Public URLs that must answer over HTTPS with these response headers. */
  https: { url: string; headers: Record<string, string> }[];
  /** PEM of the private CA the public sites' certificates chain to (the dev tier's Caddy CA); null for public CAs. */
  trustedCa: string | null;
  /** Internal readiness endpoints (through the SSH tunnel in a real stack). */
  health: { name: string; endpoint: Endpoint; path: string }[];
  /** Hydra issuers whose discovery document must name themselves. */
  oidcIssuers: string[];
  /** CIAM Kratos public API, where synthetic users log in. */
  kratosPublic: Endpoint;
  users: SyntheticIdentityPlan & { count: number; password: string };
  /** Mailpit's API where staging mail lands; null where mail is not sandboxed. */
  mailSandbox: Endpoint | null;
  slo: { durationSeconds: number; loginsPerMinute: number; minSuccessRate: number; maxP95Ms: number };
}

export interface SmokeResult {
  check: string;
  ok: boolean;
  detail: string;
}

export interface SoakResult {
  smoke: SmokeResult[];
  attempts: number;
  successes: number;
  successRate: number;
  p50Ms: number;
  p95Ms: number;
  finishedAt: string;
}

export interface SoakGateError extends Error {
  result: Partial<SoakResult>;
}

/** A plain Error with the results attached (classes do not survive closure serialization as Errors). */
export function soakGateError(message: string, result: Partial<SoakResult>): SoakGateError {
  return Object.assign(new Error(message), { name: "SoakGateError", result });
}

const snippet = (text: string) => text.replace(/\s+/g, " ").slice(0, 300);

async function getText(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url, { redirect: "manual", ...init, signal: AbortSignal.timeout(15_000) });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** GET over HTTPS, verifying the certificate against a private CA when one is given. */
async function getHttps(
  url: string,
  trustedCa: string | null,
): Promise<{ status: number; headers: Headers; body: string }> {
  if (!trustedCa) return getText(url);
  const undici = require("undici") as typeof import("undici");
  const dispatcher = new undici.Agent({ connect: { ca: trustedCa } });
  try {
    const response = await undici.fetch(url, { redirect: "manual", dispatcher, signal: AbortSignal.timeout(15_000) });
    return { status: response.status, headers: response.headers as unknown as Headers, body: await response.text() };
  } finally {
    await dispatcher.close();
  }
}

export async function checkHttps(
  target: SoakPlan["https"][number],
  trustedCa: string | null = null,
): Promise<SmokeResult> {
  const check = `https ${target.url}`;
  try {
    const response = await getHttps(target.url, trustedCa);
    const missing = Object.entries(target.headers).filter(([name, value]) => response.headers.get(name) !== value);
    if (response.status >= 500)
      return { check, ok: false, detail: `answered ${response.status}: ${snippet(response.body)}` };
    if (missing.length)
      return {
        check,
        ok: false,
        detail: `missing or wrong headers: ${missing.map(([name]) => `${name}=${response.headers.get(name) ?? "(absent)"}`).join(", ")}`,
      };
    return { check, ok: true, detail: `${response.status} with security headers` };
  } catch (error) {
    return { check, ok: false, detail: (error as Error).message };
  }
}

async function checkHealth(target: SoakPlan["health"][number]): Promise<SmokeResult> {
  const check = `ready ${target.name}`;
  try {
    return await withEndpoint(target.endpoint, async (base) => {
      // Kratos redirects /health/ready on its admin port to /admin/health/ready.
      const response = await getText(new URL(target.path, base).toString(), { redirect: "follow" });
      return { check, ok: response.status === 200, detail: `${response.status} ${snippet(response.body)}` };
    });
  } catch (error) {
    return { check, ok: false, detail: (error as Error).message };
  }
}

export async function checkDiscovery(issuer: string, trustedCa: string | null = null): Promise<SmokeResult> {
  const check = `oidc discovery ${issuer}`;
  try {
    const response = await getHttps(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, trustedCa);
    const document = response.status === 200 ? (JSON.parse(response.body) as { issuer?: string }) : {};
    const ok = document.issuer?.replace(/\/$/, "") === issuer.replace(/\/$/, "");
    return { check, ok, detail: ok ? "issuer matches" : `${response.status}: ${snippet(response.body)}` };
  } catch (error) {
    return { check, ok: false, detail: (error as Error).message };
  }
}

/** One login through the Kratos API flow; resolves with the latency or rejects with the failing response. */
export async function apiLogin(kratosPublicUrl: string, identifier: string, password: string): Promise<number> {
  const started = performance.now();
  const flow = await getText(new URL("/self-service/login/api", kratosPublicUrl).toString());
  if (flow.status !== 200)
    throw new Error(`GET /self-service/login/api answered ${flow.status}: ${snippet(flow.body)}`);
  const flowId = (JSON.parse(flow.body) as { id: string }).id;
  const login = await getText(
    new URL(`/self-service/login?flow=${encodeURIComponent(flowId)}`, kratosPublicUrl).toString(),
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "password", identifier, password }),
    },
  );
  if (login.status !== 200 || !login.body.includes("session_token")) {
    throw new Error(`POST /self-service/login for ${identifier} answered ${login.status}: ${snippet(login.body)}`);
  }
  return performance.now() - started;
}

async function checkLogin(plan: SoakPlan): Promise<SmokeResult> {
  const check = "synthetic user login";
  const email = syntheticIdentity(plan.users, 0).traits.email;
  try {
    const ms = await withEndpoint(plan.kratosPublic, (base) => apiLogin(base, email, plan.users.password));
    return { check, ok: true, detail: `${email} logged in (${Math.round(ms)} ms)` };
  } catch (error) {
    return { check, ok: false, detail: (error as Error).message };
  }
}

/** Starts a recovery flow for a synthetic user and waits for the code to arrive in Mailpit. */
async function checkMail(plan: SoakPlan, mailSandbox: Endpoint): Promise<SmokeResult> {
  const check = "recovery mail reaches the sandbox";
  const email = syntheticIdentity(plan.users, 0).traits.email;
  try {
    const startedAt = Date.now();
    await withEndpoint(plan.kratosPublic, async (base) => {
      const flow = await getText(new URL("/self-service/recovery/api", base).toString());
      const flowId = (JSON.parse(flow.body) as { id: string }).id;
      const submit = await getText(
        new URL(`/self-service/recovery?flow=${encodeURIComponent(flowId)}`, base).toString(),
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ method: "code", email }),
        },
      );
      if (submit.status !== 200)
        throw new Error(`POST /self-service/recovery answered ${submit.status}: ${snippet(submit.body)}`);
    });
    return await withEndpoint(mailSandbox, async (base) => {
      for (let attempt = 0; attempt < 40; attempt++) {
        const search = await getText(
          new URL(`/api/v1/search?query=${encodeURIComponent(`to:"${email}"`)}`, base).toString(),
        );
        const messages = (JSON.parse(search.body) as { messages?: { Created: string }[] }).messages ?? [];
        if (messages.some((message) => Date.parse(message.Created) >= startedAt - 1000))
          return { check, ok: true, detail: `mail to ${email} arrived` };
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      return { check, ok: false, detail: `no mail to ${email} within 20 s` };
    });
  } catch (error) {
    return { check, ok: false, detail: (error as Error).message };
  }
}

export async function smokeChecks(plan: SoakPlan): Promise<SmokeResult[]> {
  const results = [
    ...(await Promise.all(plan.https.map((target) => checkHttps(target, plan.trustedCa)))),
    ...(await Promise.all(plan.health.map(checkHealth))),
    ...(await Promise.all(plan.oidcIssuers.map((issuer) => checkDiscovery(issuer, plan.trustedCa)))),
    await checkLogin(plan),
  ];
  if (plan.mailSandbox) results.push(await checkMail(plan, plan.mailSandbox));
  return results;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : 0;

/** Simulated logins at the configured rate for the configured window; failures are counted, not thrown. */
export async function soakWindow(
  plan: SoakPlan,
): Promise<Omit<SoakResult, "smoke" | "finishedAt"> & { lastFailure?: string }> {
  const intervalMs = 60_000 / plan.slo.loginsPerMinute;
  const deadline = Date.now() + plan.slo.durationSeconds * 1000;
  const latencies: number[] = [];
  let attempts = 0;
  let lastFailure: string | undefined;
  await withEndpoint(plan.kratosPublic, async (base) => {
    const inFlight: Promise<void>[] = [];
    for (let next = Date.now(); next < deadline; next += intervalMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      const index = Math.floor(Math.random() * plan.users.count);
      attempts += 1;
      inFlight.push(
        apiLogin(base, syntheticIdentity(plan.users, index).traits.email, plan.users.password).then(
          (ms) => void latencies.push(ms),
          (error: Error) => {
            lastFailure = error.message;
          },
        ),
      );
      if (attempts % 50 === 0) void pulumi.log.info(`soak: ${attempts} logins, ${latencies.length} succeeded`);
    }
    await Promise.all(inFlight);
  });
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    attempts,
    successes: latencies.length,
    successRate: attempts ? latencies.length / attempts : 0,
    p50Ms: Math.round(percentile(sorted, 50)),
    p95Ms: Math.round(percentile(sorted, 95)),
    lastFailure,
  };
}

/** Smoke, then soak; resolves with the results or throws a SoakGateError saying what failed. */
export async function runSoakGate(plan: SoakPlan): Promise<SoakResult> {
  void pulumi.log.info(`soak gate for ${plan.stack}: smoke checks`);
  const smoke = await smokeChecks(plan);
  const failed = smoke.filter((result) => !result.ok);
  if (failed.length) {
    throw soakGateError(
      `smoke checks failed for ${plan.stack}:\n${failed.map((result) => `  - ${result.check}: ${result.detail}`).join("\n")}`,
      { smoke },
    );
  }
  void pulumi.log.info(
    `soak gate for ${plan.stack}: ${plan.slo.durationSeconds}s at ${plan.slo.loginsPerMinute} logins/min`,
  );
  const { lastFailure, ...window } = await soakWindow(plan);
  const result: SoakResult = { smoke, ...window, finishedAt: new Date().toISOString() };
  const misses: string[] = [];
  if (window.successRate < plan.slo.minSuccessRate)
    misses.push(
      `success rate ${window.successRate.toFixed(3)} < ${plan.slo.minSuccessRate} (${window.successes}/${window.attempts})`,
    );
  if (window.successes > 0 && window.p95Ms > plan.slo.maxP95Ms)
    misses.push(`p95 ${window.p95Ms} ms > ${plan.slo.maxP95Ms} ms`);
  if (misses.length) {
    throw soakGateError(
      `soak SLO missed for ${plan.stack}: ${misses.join("; ")}${lastFailure ? `\n  last failure: ${lastFailure}` : ""}`,
      result,
    );
  }
  return result;
}
