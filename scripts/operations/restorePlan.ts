import { stackEnvironment } from "./stacks";

/** What `npm run restore` is asked for, as the deploy script's restore verb takes it. */
export type RestoreTarget = { kind: "latest" } | { kind: "time"; time: string } | { kind: "point"; name: string };

export interface RestoreRequest {
  stack: string;
  target: RestoreTarget;
}

const usage = "usage: npm run restore -- <stack> (--latest | --to <ISO time with zone> | --point <restore point>)";

/**
 * Checks a restore request before anything is touched: one target, a time in the past with its zone, and
 * the stack's own repository only; staging never receives prod's data, and no stack another's.
 */
export function restoreRequest(
  dir: string,
  args: { stack?: string; to?: string; latest?: boolean; point?: string; from?: string },
  now = new Date(),
): RestoreRequest {
  const { stack } = args;
  if (!stack) throw new Error(usage);
  const environment = stackEnvironment(dir, stack);
  if (!environment) throw new Error(`${stack} has no olympus:environment; refusing to restore a stack of unknown kind`);
  if (args.from && args.from !== stack) {
    const source = stackEnvironment(dir, args.from) ?? "unknown";
    throw new Error(
      source === environment
        ? `refusing to restore ${stack} from ${args.from}'s repository: each stack restores only its own (${args.from}'s keys are not on ${stack}'s host); nothing was stopped`
        : `refusing to restore ${stack} (${environment}) from ${args.from}'s repository (${source}): ${environment} never receives ${source}'s data; nothing was stopped`,
    );
  }
  const chosen = [args.latest ? "latest" : undefined, args.to, args.point].filter(Boolean);
  if (chosen.length !== 1) throw new Error(`choose exactly one target; ${usage}`);
  if (args.latest) return { stack, target: { kind: "latest" } };
  if (args.point) {
    if (!/^[A-Za-z0-9_.:-]{1,63}$/.test(args.point))
      throw new Error(
        `--point: ${JSON.stringify(args.point)} is not a restore point's name (the deploy log names them)`,
      );
    return { stack, target: { kind: "point", name: args.point } };
  }
  const to = args.to!;
  const time = Date.parse(to);
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(to) || Number.isNaN(time))
    throw new Error(`--to: ${JSON.stringify(to)} is not an ISO time with its zone, such as 2026-11-30T10:15:00Z`);
  if (time > now.getTime()) throw new Error(`--to: ${to} is in the future; a restore reaches back, never ahead`);
  return { stack, target: { kind: "time", time: new Date(time).toISOString().replace("T", " ").replace("Z", "+00") } };
}

/** The deploy script's restore arguments for a target. */
export function restoreArguments(target: RestoreTarget): string[] {
  if (target.kind === "latest") return ["restore", "latest"];
  if (target.kind === "time") return ["restore", "time", target.time];
  return ["restore", "point", target.name];
}
