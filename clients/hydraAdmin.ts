import * as pulumi from "@pulumi/pulumi";
import type { Endpoint } from "../lib/endpoint";
import type { HydraClientBody } from "../lib/oauthClients";
import { expectOk, request } from "./adminApi";
import { withEndpoint } from "./tunnel";

/** One stack's clients in one Hydra, reached through its admin API. */
export interface ClientRegistration {
  stack: string;
  /** Hydra's admin API: direct URL, or through an SSH tunnel to its address on the admin network. */
  endpoint: Endpoint;
  clients: HydraClientBody[];
}

/** Marks the clients a stack registered, so it removes its own and never anyone else's. */
const marker = (stack: string) => ({ managed_by: "olympus-infra", stack });

interface HydraClient {
  client_id: string;
  metadata?: { managed_by?: string; stack?: string } | null;
}

const json = (body: unknown): RequestInit => ({
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

async function listClients(adminUrl: string): Promise<HydraClient[]> {
  const clients: HydraClient[] = [];
  let page: string | undefined = "/admin/clients?page_size=500";
  while (page) {
    const response = await expectOk(await request(adminUrl, page, {}), "GET /admin/clients");
    clients.push(...((await response.json()) as HydraClient[]));
    // Hydra pages with a Link header, like Kratos.
    const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
    page = next ? new URL(next, adminUrl).pathname + new URL(next, adminUrl).search : undefined;
  }
  return clients;
}

const ownedBy = (stack: string) => (client: HydraClient) =>
  client.metadata?.managed_by === "olympus-infra" && client.metadata.stack === stack;

/** Writes every desired client (PUT replaces one, POST creates a missing one) and deletes this stack's others. */
export async function convergeClients(inputs: ClientRegistration): Promise<string[]> {
  return withEndpoint(inputs.endpoint, async (adminUrl) => {
    const existing = await listClients(adminUrl);
    for (const client of inputs.clients) {
      const body: HydraClientBody & { metadata: ReturnType<typeof marker> } = {
        ...client,
        metadata: marker(inputs.stack),
      };
      const present = existing.some((candidate) => candidate.client_id === client.client_id);
      const path = present ? `/admin/clients/${encodeURIComponent(client.client_id)}` : "/admin/clients";
      await expectOk(
        await request(adminUrl, path, { method: present ? "PUT" : "POST", ...json(body) }),
        `${present ? "PUT" : "POST"} ${path}`,
      );
    }
    const wanted = new Set(inputs.clients.map((client) => client.client_id));
    for (const stale of existing.filter((client) => ownedBy(inputs.stack)(client) && !wanted.has(client.client_id))) {
      await expectOk(
        await request(adminUrl, `/admin/clients/${encodeURIComponent(stale.client_id)}`, { method: "DELETE" }),
        `DELETE client ${stale.client_id}`,
      );
    }
    void pulumi.log.info(`oauth2 clients: ${[...wanted].join(", ")} registered`);
    return [...wanted].sort();
  });
}

export async function registeredClients(inputs: ClientRegistration): Promise<string[]> {
  return withEndpoint(inputs.endpoint, async (adminUrl) =>
    (await listClients(adminUrl))
      .filter(ownedBy(inputs.stack))
      .map((client) => client.client_id)
      .sort(),
  );
}

export async function removeClients(inputs: ClientRegistration): Promise<void> {
  await withEndpoint(inputs.endpoint, async (adminUrl) => {
    for (const client of (await listClients(adminUrl)).filter(ownedBy(inputs.stack))) {
      await expectOk(
        await request(adminUrl, `/admin/clients/${encodeURIComponent(client.client_id)}`, { method: "DELETE" }),
        `DELETE client ${client.client_id}`,
      );
    }
  });
}
