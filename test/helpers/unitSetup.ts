import { vi } from "vitest";

/** Every dynamic resource becomes a stand-in in unit tests (see dynamicStandIns.ts); provider objects stay real. */
vi.mock("../../providers/syntheticUsers", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../providers/syntheticUsers")>()),
  SyntheticUsers: (await import("./dynamicStandIns.js")).standInFor("olympus:seed", "SyntheticUsers", ["total"]),
}));
vi.mock("../../providers/soak", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../providers/soak")>()),
  Soak: (await import("./dynamicStandIns.js")).standInFor("olympus:seed", "Soak", ["result"]),
}));
vi.mock("../../providers/hydraClients", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../providers/hydraClients")>()),
  HydraClients: (await import("./dynamicStandIns.js")).standInFor("olympus:oauth", "HydraClients", ["registered"]),
}));
vi.mock("../../providers/sshKeyPair", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../providers/sshKeyPair")>()),
  SshKeyPair: (await import("./dynamicStandIns.js")).standInFor("olympus:keys", "SshKeyPair", [
    "publicKey",
    "privateKey",
    "fingerprint",
  ]),
}));
