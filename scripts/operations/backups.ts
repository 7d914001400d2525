/**
 * `npm run backups -- <stack>`: the age of the stack's newest full backup and of the last WAL segment
 * PostgreSQL archived, and archiving failures, read on its host (the deploy script's `backups` verb).
 */
import { runOverSsh } from "../../clients/tunnel";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";
import { deployScriptCommand, hostAccess } from "./hostAccess";

export interface BackupState {
  stanza: string;
  backups: { label: string; type: string; stop: number }[];
  archiver: { archived: number; lastArchived: number | null; failed: number; lastFailed: number | null };
}

const age = (epochSeconds: number | null, now: number) => {
  if (epochSeconds === null) return "never";
  const seconds = Math.max(0, Math.round(now / 1000 - epochSeconds));
  return seconds < 120
    ? `${seconds} s ago`
    : seconds < 7200
      ? `${Math.round(seconds / 60)} min ago`
      : `${(seconds / 3600).toFixed(1)} h ago`;
};

/** The backup state as a person reads it. */
export function describeBackups(state: BackupState, now = Date.now()): string[] {
  const newest = state.backups.at(-1);
  return [
    `stanza ${state.stanza}: ${state.backups.length} full backups in the repository`,
    `newest backup: ${newest ? `${newest.label}, finished ${age(newest.stop, now)}` : "none"}`,
    `last WAL archived: ${age(state.archiver.lastArchived, now)} (${state.archiver.archived} since PostgreSQL started)`,
    `archive failures: ${state.archiver.failed}${state.archiver.lastFailed ? `, the last ${age(state.archiver.lastFailed, now)}` : ""}`,
  ];
}

export async function backupState(stack: string, dir = projectDir, env = pulumiEnvironment()): Promise<BackupState> {
  let output = "";
  const code = await runOverSsh(await hostAccess(stack, dir, env), deployScriptCommand("backups"), (text) => {
    output += text;
  });
  if (code !== 0) throw new Error(`reading ${stack}'s backups failed:\n${output}`);
  return JSON.parse(output.slice(output.indexOf("{"))) as BackupState;
}

if (require.main === module) {
  const stack = process.argv[2];
  if (!stack) {
    console.error("usage: npm run backups -- <stack>");
    process.exit(2);
  }
  backupState(stack)
    .then((state) => console.log(describeBackups(state).join("\n")))
    .catch((error) => {
      console.error((error as Error).message);
      process.exit(1);
    });
}
