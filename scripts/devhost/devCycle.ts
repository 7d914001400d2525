/**
 * What the dev-tier test and `npm run bench:dev` do to a running dev stack: a throwaway copy of the
 * project to run it from (so config changes never touch the checkout), a client that trusts Caddy's
 * internal CA, logins through Caddy, and questions to podman about what the stack left running.
 */
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import execa from "execa";
import { Agent, fetch, type Response } from "undici";
import { composeProject, deployUser } from "../../lib/topology";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";

/** A copy of the tracked files (working-tree content) with the checkout's node_modules, and its own backend. */
export async function projectCopy(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), "olympus-dev-"));
  const { stdout } = await execa("git", ["ls-files", "-z"], { cwd: projectDir });
  for (const file of stdout.split("\0").filter(Boolean)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(projectDir, file), join(dir, file));
  }
  symlinkSync(join(projectDir, "node_modules"), join(dir, "node_modules"));
  mkdirSync(join(dir, ".pulumi", "state"), { recursive: true });
  // The toolchain (bin, home, manifest) is the checkout's.
  for (const entry of ["bin", "home", "tools.json"])
    symlinkSync(join(projectDir, ".pulumi", entry), join(dir, ".pulumi", entry));
  return { dir, env: pulumiEnvironment({ PULUMI_BACKEND_URL: `file://${join(dir, ".pulumi", "state")}` }) };
}

/** HTTPS to the dev tier's names, verifying certificates against Caddy's internal root. */
export function edgeClient(ca: string) {
  const dispatcher = new Agent({ connect: { ca } });
  return {
    get: (url: string, cookies?: string) =>
      fetch(url, { dispatcher, redirect: "manual", headers: cookies ? { cookie: cookies } : {} }),
    postJson: (url: string, body: unknown) =>
      fetch(url, {
        dispatcher,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    close: () => dispatcher.close(),
  };
}
export type EdgeClient = ReturnType<typeof edgeClient>;

/** An API login through Caddy: the flow, then the password; the answer of the second request. */
export async function loginThroughEdge(
  client: EdgeClient,
  loginHost: string,
  identifier: string,
  password: string,
): Promise<Response> {
  const flow = await client.get(`https://${loginHost}/self-service/login/api`);
  if (flow.status !== 200) return flow;
  const { id } = (await flow.json()) as { id: string };
  return client.postJson(`https://${loginHost}/self-service/login?flow=${encodeURIComponent(id)}`, {
    method: "password",
    identifier,
    password,
  });
}

/** Logins and flow requests through Caddy at a steady pace until stopped; every non-200 answer or error is a failure. */
export function steadyTraffic(
  client: EdgeClient,
  loginHost: string,
  identities: () => string,
  password: string,
  loginsPerMinute: number,
) {
  let running = true;
  const counts = { logins: 0, flows: 0, failures: [] as string[] };
  const record = async (what: string, request: () => Promise<Response>) => {
    try {
      const response = await request();
      const body = await response.text();
      if (response.status !== 200)
        counts.failures.push(`${new Date().toISOString()} ${what}: ${response.status} ${body.slice(0, 200)}`);
      return response.status === 200;
    } catch (error) {
      counts.failures.push(
        `${new Date().toISOString()} ${what}: ${(error as Error).message} ${((error as Error).cause as Error | undefined)?.message ?? ""}`,
      );
      return false;
    }
  };
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const logins = (async () => {
    while (running) {
      const started = Date.now();
      if (await record("login", () => loginThroughEdge(client, loginHost, identities(), password))) counts.logins++;
      await pause(Math.max(0, 60_000 / loginsPerMinute - (Date.now() - started)));
    }
  })();
  // Unlimited by the rate limiter: many more requests cross the switch.
  const flows = (async () => {
    while (running) {
      if (await record("flow", () => client.get(`https://${loginHost}/self-service/login/api`))) counts.flows++;
      await pause(100);
    }
  })();
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all([logins, flows]);
      return counts;
    },
  };
}

/**
 * The stack's containers, by compose service: image, state and health as podman reports them, and the
 * release alias Caddy dials the container by ("" for one without, such as a migration).
 */
export async function stackContainers(): Promise<
  Record<
    string,
    {
      image: string;
      state: string;
      health: string;
      releaseAlias: string;
      ports: { hostIp: string; hostPort: string }[];
    }
  >
> {
  // A machine that `npm run dev` has not prepared yet has no podman, and so no stack.
  if ((await execa("sh", ["-c", "command -v podman"], { reject: false })).exitCode !== 0) return {};
  const { stdout } = await execa("podman", [
    "ps",
    "--all",
    "--filter",
    `label=com.docker.compose.project=${composeProject}`,
    "--format",
    "{{.Names}}",
  ]);
  const names = stdout.split("\n").filter(Boolean);
  if (names.length === 0) return {};
  const inspected = JSON.parse((await execa("podman", ["inspect", ...names])).stdout) as {
    ImageName: string;
    Config: { Labels: Record<string, string> };
    State: { Status: string; Health?: { Status: string } };
    NetworkSettings: {
      Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
      Networks: Record<string, { Aliases?: string[] | null }>;
    };
  }[];
  return Object.fromEntries(
    inspected.map((container) => {
      const service = container.Config.Labels["com.docker.compose.service"]!;
      const releaseAlias = Object.values(container.NetworkSettings.Networks ?? {})
        .flatMap((network) => network.Aliases ?? [])
        // Its definition's digest, then (for a service with secrets) its secrets' digest.
        .find((alias) => new RegExp(`^${service}-[0-9a-f]{12}(-[0-9a-f]{12})?$`).test(alias));
      return [
        service,
        {
          image: container.ImageName,
          state: container.State.Status,
          health: container.State.Health?.Status ?? "",
          releaseAlias: releaseAlias ?? "",
          ports: Object.values(container.NetworkSettings.Ports ?? {}).flatMap((bindings) =>
            (bindings ?? []).map((binding) => ({ hostIp: binding.HostIp, hostPort: binding.HostPort })),
          ),
        },
      ];
    }),
  );
}

/** Everything of the stack podman still knows, and the data directory: empty after a destroy. */
export async function stackLeftovers(): Promise<string[]> {
  const podman = async (args: string[]) => (await execa("podman", args)).stdout.split("\n").filter(Boolean);
  const label = `label=com.docker.compose.project=${composeProject}`;
  return [
    ...(await podman(["ps", "--all", "--filter", label, "--format", "container {{.Names}}"])),
    ...(await podman(["volume", "ls", "--filter", label, "--format", "volume {{.Name}}"])),
    ...(await podman(["secret", "ls", "--format", "secret {{.Name}}"])).filter((line) =>
      line.startsWith(`secret ${composeProject}_`),
    ),
    ...(await podman(["network", "ls", "--format", "network {{.Name}}"])).filter((line) =>
      line.startsWith(`network ${composeProject}`),
    ),
    ...(await execa("sh", ["-c", "test -e /srv/olympus && echo directory /srv/olympus || true"])).stdout
      .split("\n")
      .filter(Boolean),
    // What granted access to this machine: the deploy user, its keys and its sudo rule.
    ...(await execa("sh", ["-c", `id ${deployUser} >/dev/null 2>&1 && echo user ${deployUser} || true`])).stdout
      .split("\n")
      .filter(Boolean),
    ...(await execa("sh", ["-c", "ls /etc/sudoers.d | grep olympus | sed 's/^/sudoers /' || true"])).stdout
      .split("\n")
      .filter(Boolean),
    // The deploy's firewall tables (the admin network's guard).
    ...(await execa("sh", ["-c", "nft list tables 2>/dev/null | grep olympus || true"])).stdout
      .split("\n")
      .filter(Boolean),
    ...(await execa("sh", ["-c", "pgrep -a 'conmon|aardvark-dns' || true"])).stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => `process ${line}`),
  ];
}
