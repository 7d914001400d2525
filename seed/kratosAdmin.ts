import type { KratosIdentityBody } from "./identities";

/**
 * A small client for the Kratos admin API: list with paging, batch create, delete. Every request has
 * a timeout and is retried with backoff on network errors, timeouts, 429 and 5xx; 4xx answers fail at
 * once with the response body in the error.
 */
export interface KratosIdentity {
  id: string;
  external_id?: string;
  traits: Record<string, unknown>;
  metadata_admin?: Record<string, unknown> | null;
}

export interface BatchResult {
  created: number;
  /** Items Kratos refused because the identity already exists (a rerun after a crash). */
  conflicts: number;
  errors: string[];
}

export interface KratosRequestError extends Error {
  status: number | undefined;
  retryable: boolean;
}

/**
 * A plain Error with fields, not a subclass: closure serialization turns classes into ES5 functions
 * whose instances are not real Errors, which p-retry and the engine then refuse.
 */
export function kratosRequestError(message: string, status: number | undefined, retryable: boolean): KratosRequestError {
  return Object.assign(new Error(message), { name: "KratosRequestError", status, retryable });
}

const isKratosRequestError = (error: unknown): error is KratosRequestError => error instanceof Error && error.name === "KratosRequestError";

export interface RequestOptions {
  /** Attempts per request. @default 5 */
  retries?: number;
  /** Per-attempt timeout in milliseconds. @default 30000 */
  timeoutMs?: number;
}

async function request(baseUrl: string, path: string, init: RequestInit, options: RequestOptions = {}): Promise<Response> {
  const pRetry = require("p-retry") as typeof import("p-retry");
  const url = new URL(path, baseUrl).toString();
  return pRetry(
    async () => {
      let response: Response;
      try {
        response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
      } catch (error) {
        throw kratosRequestError(`${init.method ?? "GET"} ${url} failed: ${(error as Error).message}`, undefined, true);
      }
      if (response.status === 429 || response.status >= 500) {
        throw kratosRequestError(`${init.method ?? "GET"} ${url} answered ${response.status}: ${(await response.text()).slice(0, 500)}`, response.status, true);
      }
      return response;
    },
    {
      retries: (options.retries ?? 5) - 1,
      minTimeout: 200,
      factor: 2,
      onFailedAttempt: (error) => {
        if (isKratosRequestError(error) && !error.retryable) throw error;
      },
    },
  );
}

async function expectOk(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw kratosRequestError(`${what} answered ${response.status}: ${(await response.text()).slice(0, 500)}`, response.status, false);
  return response;
}

/** Every identity, following the Link header's `next` pages. */
export async function listIdentities(baseUrl: string, options?: RequestOptions): Promise<KratosIdentity[]> {
  const identities: KratosIdentity[] = [];
  let next: string | undefined = "/admin/identities?page_size=1000";
  while (next) {
    const response = await expectOk(await request(baseUrl, next, {}, options), `GET ${next}`);
    identities.push(...((await response.json()) as KratosIdentity[]));
    const link = response.headers.get("link") ?? "";
    next = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
    if (next) {
      const parsed = new URL(next, baseUrl);
      next = `${parsed.pathname}${parsed.search}`;
    }
  }
  return identities;
}

/** Creates up to Kratos's batch limit in one PATCH /admin/identities. */
export async function batchCreate(baseUrl: string, bodies: KratosIdentityBody[], options?: RequestOptions): Promise<BatchResult> {
  const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
  const response = await expectOk(
    await request(
      baseUrl,
      "/admin/identities",
      {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ identities: bodies.map((create) => ({ create, patch_id: randomUUID() })) }),
      },
      options,
    ),
    "PATCH /admin/identities",
  );
  const result = (await response.json()) as { identities: { action: string; identity?: string; error?: { code?: number; message?: string; reason?: string } }[] };
  const outcome: BatchResult = { created: 0, conflicts: 0, errors: [] };
  for (const item of result.identities) {
    if (item.action === "create" && item.identity) outcome.created += 1;
    else if (item.error?.code === 409) outcome.conflicts += 1;
    else outcome.errors.push(`${item.error?.code ?? "?"} ${item.error?.reason ?? item.error?.message ?? "unknown error"}`);
  }
  return outcome;
}

export async function deleteIdentity(baseUrl: string, id: string, options?: RequestOptions): Promise<void> {
  const response = await request(baseUrl, `/admin/identities/${encodeURIComponent(id)}`, { method: "DELETE" }, options);
  if (response.status !== 404) await expectOk(response, `DELETE /admin/identities/${id}`);
}

/** Creates one identity the slow way (POST per user); used by the benchmark's naive baseline. */
export async function createIdentity(baseUrl: string, body: unknown, options?: RequestOptions): Promise<string> {
  const response = await expectOk(
    await request(baseUrl, "/admin/identities", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, options),
    "POST /admin/identities",
  );
  return ((await response.json()) as { id: string }).id;
}
