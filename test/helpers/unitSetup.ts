import { vi } from "vitest";

/** Every dynamic resource becomes a stand-in in unit tests (see dynamicStandIns.ts); provider objects stay real. */
vi.mock("../../seed/syntheticUsers", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../seed/syntheticUsers")>()),
  SyntheticUsers: (await import("./dynamicStandIns.js")).standInFor("olympus:seed", "SyntheticUsers", ["total"]),
}));
vi.mock("../../seed/soak", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../seed/soak")>()),
  Soak: (await import("./dynamicStandIns.js")).standInFor("olympus:seed", "Soak", ["result"]),
}));
vi.mock("../../seed/hydraClients", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../seed/hydraClients")>()),
  HydraClients: (await import("./dynamicStandIns.js")).standInFor("olympus:oauth", "HydraClients", ["registered"]),
}));
vi.mock("../../seed/sshKeyPair", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../seed/sshKeyPair")>()),
  SshKeyPair: (await import("./dynamicStandIns.js")).standInFor("olympus:keys", "SshKeyPair", [
    "publicKey",
    "privateKey",
    "fingerprint",
  ]),
}));
