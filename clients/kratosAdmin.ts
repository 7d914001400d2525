import { expectOk, type RequestOptions, request } from "./adminApi";
import type { KratosIdentityBody } from "./identities";

/** A small client for the Kratos admin API: list with paging, batch create, delete. */
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
export async function batchCreate(
  baseUrl: string,
  bodies: KratosIdentityBody[],
  options?: RequestOptions,
): Promise<BatchResult> {
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
  const result = (await response.json()) as {
    identities: { action: string; identity?: string; error?: { code?: number; message?: string; reason?: string } }[];
  };
  const outcome: BatchResult = { created: 0, conflicts: 0, errors: [] };
  for (const item of result.identities) {
    if (item.action === "create" && item.identity) outcome.created += 1;
    else if (item.error?.code === 409) outcome.conflicts += 1;
    else
      outcome.errors.push(`${item.error?.code ?? "?"} ${item.error?.reason ?? item.error?.message ?? "unknown error"}`);
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
    await request(
      baseUrl,
      "/admin/identities",
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
      options,
    ),
    "POST /admin/identities",
  );
  return ((await response.json()) as { id: string }).id;
}
