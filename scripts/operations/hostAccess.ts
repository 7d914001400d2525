import execa from "execa";
import type { SshTarget } from "../../lib/endpoint";
import { composeProjectDir } from "../../lib/topology";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";
import { revealed } from "./renderedFiles";
import { ensureStack } from "./stacks";

interface StateResource {
  type: string;
  urn: string;
  inputs?: Record<string, unknown>;
}

/**
 * How the deploy steps reach a stack's host, from its state: the address, the deploy user's key and the
 * pinned host key every remote step uses (the same for a Hetzner server and an existing machine).
 */
export function hostAccessFromState(state: { deployment?: { resources?: StateResource[] } }): SshTarget {
  const up = (state.deployment?.resources ?? []).find(
    (resource) => resource.type === "command:remote:Command" && resource.urn.endsWith("-up"),
  );
  const connection = revealed(up?.inputs?.connection) as
    | { host: string; port?: number; user: string; privateKey: string; hostKey: string }
    | undefined;
  if (!connection?.host || !connection.privateKey)
    throw new Error(
      "the stack has no deployment in its state: run `npm run pulumi -- up --stack <stack>` first, then this command",
    );
  const { host, port, user, privateKey, hostKey } = connection;
  return { host, port, user, privateKey, hostKey };
}

export async function hostAccess(stack: string, dir = projectDir, env = pulumiEnvironment()): Promise<SshTarget> {
  await ensureStack(dir, stack, env);
  const { stdout } = await execa("pulumi", ["stack", "export", "--show-secrets", "--stack", stack], { cwd: dir, env });
  return hostAccessFromState(JSON.parse(stdout));
}

/** The deploy script's command line on the host for a verb and its (never secret) arguments. */
export const deployScriptCommand = (...words: string[]) =>
  [`${composeProjectDir}/olympus-deploy.sh`, ...words.map((word) => `'${word.replace(/'/g, "'\\''")}'`)].join(" ");
