import { describe, expect, it } from "vitest";
import { bundleFiles } from "../../render/deployment";
import { filesFromState, redact, redactedValue } from "../../scripts/operations/renderedFiles";

describe("npm run render helpers", () => {
  it("redacts secret values but keeps the shape of secret files", () => {
    const files = redact({
      ".env": { content: "PG_PASSWORD='hunter2hunter2'\nSMTP_CONNECTION_URI='smtp://u:p@h'\n", secret: true },
      "postgres/server.key": {
        content: "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----\n",
        secret: true,
      },
      "compose.yml": { content: "services: {}\n", secret: false },
    });
    expect(files[".env"]!.content).toBe(`PG_PASSWORD='${redactedValue}'\nSMTP_CONNECTION_URI='${redactedValue}'\n`);
    expect(files["postgres/server.key"]!.content).toBe(
      `-----BEGIN PRIVATE KEY-----\n${redactedValue}\n-----END PRIVATE KEY-----\n`,
    );
    expect(files["compose.yml"]!.content).toBe("services: {}\n");
  });

  it("reveals exactly the files of the last deployment from the install steps in the state", () => {
    const config = bundleFiles({ "compose.yml": { content: "services: {}\n", mode: "0644", secret: false } });
    const secrets = {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      plaintext: JSON.stringify(bundleFiles({ ".env": { content: "A='b'\n", mode: "0600", secret: true } })),
    };
    const step = (name: string, stdin: unknown) => ({
      type: "command:remote:Command",
      urn: `urn:pulumi:staging::olympus::x$command:remote:Command::olympus-staging-app-${name}`,
      inputs: { stdin },
    });
    const state = {
      deployment: {
        resources: [step("install-config", config), step("install-secrets", secrets), step("up", "ignored")],
      },
    };
    expect(filesFromState(state)).toEqual({
      "compose.yml": { content: "services: {}\n", secret: false },
      ".env": { content: "A='b'\n", secret: true },
    });
    expect(() => filesFromState({ deployment: { resources: [] } })).toThrow("no deployment in its state yet");
  });
});
