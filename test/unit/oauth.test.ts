import { describe, expect, it } from "vitest";
import { oauthClients, redirectProblems } from "../../lib/oauthClients";
import { hostnames } from "../../lib/topology";
import { type HydraClientsInputs, hydraClientsProvider } from "../../providers/hydraClients";

describe("OAuth2 client definitions", () => {
  const clients = oauthClients(hostnames("example.com", "olympus"));

  it("accept HTTPS redirects everywhere and pgAdmin's loopback tunnel", () => {
    for (const client of clients) expect(redirectProblems(client, "prod"), client.client_id).toEqual([]);
  });

  it("refuse a localhost redirect outside dev, and accept it in dev", () => {
    const local = { ...clients[0]!, redirect_uris: ["http://localhost:3000/api/auth/callback"] };
    expect(redirectProblems(local, "staging")).toEqual(["http://localhost:3000/api/auth/callback"]);
    expect(redirectProblems({ ...clients[0]!, redirect_uris: ["https://localhost/cb"] }, "prod")).toEqual([
      "https://localhost/cb",
    ]);
    expect(redirectProblems(local, "dev")).toEqual([]);
  });

  it("make Athena public (PKCE, no secret) and the site and pgAdmin confidential", () => {
    const byId = Object.fromEntries(clients.map((client) => [client.client_id, client]));
    expect(byId["athena-ciam-client"]).toMatchObject({ token_endpoint_auth_method: "none", subject_type: "public" });
    expect(byId["athena-ciam-client"]!.confidential).toBe(false);
    expect(byId["site-ciam-client"]).toMatchObject({
      hydra: "ciam",
      confidential: true,
      token_endpoint_auth_method: "client_secret_basic",
      skip_consent: false,
    });
    expect(byId.pgadmin).toMatchObject({ hydra: "iam", confidential: true, tunnelled: true });
  });
});

describe("the HydraClients provider", () => {
  const inputs: HydraClientsInputs = {
    providerVersion: "1",
    environment: "staging",
    hostAwake: true,
    stack: "staging",
    endpoint: { kind: "direct", url: "http://x" },
    clients: [],
  };
  const client = {
    client_id: "c",
    client_name: "c",
    redirect_uris: [],
    post_logout_redirect_uris: [],
    grant_types: [],
    response_types: [],
    scope: "openid",
    subject_type: "public" as const,
    skip_consent: true,
  };

  it("refuses a public client with a secret and a confidential one without", async () => {
    const result = await hydraClientsProvider.check!(inputs, {
      ...inputs,
      clients: [
        { ...client, client_id: "public", token_endpoint_auth_method: "none", client_secret: "x".repeat(40) },
        { ...client, client_id: "confidential", token_endpoint_auth_method: "client_secret_basic" },
      ],
    });
    expect(result.failures?.map((failure) => failure.reason)).toEqual([
      "public is a public client (PKCE) and must not carry a secret",
      "confidential is confidential and needs a secret of at least 32 characters",
    ]);
  });

  it("changes when the clients change, not when the tunnel does", async () => {
    const moved = { ...inputs, endpoint: { kind: "direct" as const, url: "http://y" } };
    expect((await hydraClientsProvider.diff!("id", { ...inputs, registered: [] }, moved)).changes).toBe(false);
    expect(
      (
        await hydraClientsProvider.diff!(
          "id",
          { ...inputs, registered: [] },
          { ...inputs, clients: [{ ...client, token_endpoint_auth_method: "none" }] },
        )
      ).changes,
    ).toBe(true);
  });
});
