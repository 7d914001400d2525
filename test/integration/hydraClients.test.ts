import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convergeClients, registeredClients, removeClients } from "../../clients/hydraAdmin";
import { type HydraClientBody, hydraClientBodies, oauthClients } from "../../lib/oauthClients";
import { hostnames } from "../../lib/topology";
import type { HydraClientsInputs } from "../../providers/hydraClients";
import { type Hydra, startHydra } from "../../scripts/bench/localServices";
import { authorizationFlow } from "../helpers/oauthFlow";

/** Client registration against a real Hydra v26.2.0 running the staging hydra.yml. */
let hydra: Hydra;
const iamClients: HydraClientBody[] = hydraClientBodies(
  oauthClients(hostnames("staging.example.com", "olympus")),
  "iam",
  (clientId) => `${clientId}-${"s".repeat(40)}`,
);
const inputs = (clients: HydraClientBody[], stack = "staging"): HydraClientsInputs => ({
  providerVersion: "1",
  environment: "staging",
  hostAwake: true,
  stack,
  endpoint: { kind: "direct", url: hydra.adminUrl },
  clients,
});
const client = async (id: string) =>
  (await fetch(`${hydra.adminUrl}/admin/clients/${id}`)).json() as Promise<{
    redirect_uris: string[];
    token_endpoint_auth_method: string;
  }>;

beforeAll(async () => {
  hydra = await startHydra();
});

afterAll(async () => {
  await hydra?.stop();
});

describe("OAuth2 client registration against a real Hydra", () => {
  it("registers every client with the environment's redirect URIs, and a rerun converges", async () => {
    expect(await convergeClients(inputs(iamClients))).toEqual([
      "athena-ciam-client",
      "athena-iam-client",
      "pgadmin",
      "site-iam-client",
    ]);
    expect(await convergeClients(inputs(iamClients))).toEqual([
      "athena-ciam-client",
      "athena-iam-client",
      "pgadmin",
      "site-iam-client",
    ]);
    expect(await client("athena-ciam-client")).toMatchObject({
      redirect_uris: ["https://admin.ciam.staging.example.com/api/auth/callback"],
      token_endpoint_auth_method: "none",
    });
    expect(await registeredClients(inputs(iamClients))).toHaveLength(4);
  });

  it("refuses an authorization request of a public client without code_challenge, and completes one with it", async () => {
    const http = (url: string, cookies: string) =>
      fetch(url, { redirect: "manual", headers: cookies ? { cookie: cookies } : {} });
    const query = {
      response_type: "code",
      client_id: "athena-ciam-client",
      scope: "openid",
      state: "abcdefghijkl",
      redirect_uri: "https://admin.ciam.staging.example.com/api/auth/callback",
    };
    const refused = new URL(await authorizationFlow(http, hydra.publicUrl, hydra.adminUrl, query));
    expect(`${refused.origin}${refused.pathname}`).toBe("https://admin.ciam.staging.example.com/api/auth/callback");
    expect(refused.searchParams.get("error")).toBe("invalid_request");
    expect(refused.searchParams.get("error_description")).toMatch(/code_challenge/);
    const accepted = new URL(
      await authorizationFlow(http, hydra.publicUrl, hydra.adminUrl, {
        ...query,
        code_challenge_method: "S256",
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      }),
    );
    expect(accepted.searchParams.get("code")).toBeTruthy();
  });

  it("updates a changed client, deletes the stack's dropped ones, and leaves everyone else's alone", async () => {
    await fetch(`${hydra.adminUrl}/admin/clients`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: "someone-else", token_endpoint_auth_method: "none" }),
    });
    const moved = iamClients
      .filter((body) => body.client_id !== "pgadmin")
      .map((body) =>
        body.client_id === "site-iam-client"
          ? { ...body, redirect_uris: ["https://olympus.staging.example.com/callback/iam-v2"] }
          : body,
      );
    expect(await convergeClients(inputs(moved))).toEqual([
      "athena-ciam-client",
      "athena-iam-client",
      "site-iam-client",
    ]);
    expect((await fetch(`${hydra.adminUrl}/admin/clients/pgadmin`)).status).toBe(404);
    expect((await client("site-iam-client")).redirect_uris).toEqual([
      "https://olympus.staging.example.com/callback/iam-v2",
    ]);
    await removeClients(inputs(moved));
    expect(await registeredClients(inputs(moved))).toEqual([]);
    expect((await fetch(`${hydra.adminUrl}/admin/clients/someone-else`)).status).toBe(200);
  });
});
