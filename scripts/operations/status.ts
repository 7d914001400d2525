/**
 * `npm run status -- <stack>`: what is firing in the stack's monitoring and each scrape target's health,
 * as two short tables, read from its Prometheus through an SSH tunnel to the host's loopback.
 */
import { type MonitoringStatus, monitoringStatus } from "../../clients/prometheus";
import { withEndpoint } from "../../clients/tunnel";
import { hostAddress } from "../../lib/services";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";
import { hostAccess } from "./hostAccess";

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
}

/** The status as a person reads it: alerts first (or "nothing firing"), then the targets. */
export function describeStatus(status: MonitoringStatus): string[] {
  const alerts = status.alerts.length
    ? table(
        ["alert", "state", "since", "value", "summary"],
        status.alerts.map((alert) => [
          alert.name,
          alert.state,
          alert.activeAt.slice(0, 19),
          alert.value,
          alert.summary,
        ]),
      )
    : ["nothing firing"];
  const down = status.targets.filter((target) => target.health !== "up").length;
  return [
    ...alerts,
    "",
    `${status.targets.length} targets, ${down} not up; ${status.rules.length} alert rules loaded`,
    ...table(
      ["job", "health", "last error"],
      status.targets.map((target) => [target.job, target.health, target.lastError]),
    ),
  ];
}

export async function stackStatus(
  stack: string,
  dir = projectDir,
  env = pulumiEnvironment(),
): Promise<MonitoringStatus> {
  const ssh = await hostAccess(stack, dir, env);
  const prometheus = hostAddress("prometheus", "http");
  return withEndpoint({ kind: "ssh", ssh, remoteHost: prometheus.host, remotePort: prometheus.port }, monitoringStatus);
}

if (require.main === module) {
  const stack = process.argv[2];
  if (!stack) {
    console.error("usage: npm run status -- <stack>");
    process.exit(2);
  }
  stackStatus(stack)
    .then((status) => console.log(describeStatus(status).join("\n")))
    .catch((error) => {
      console.error((error as Error).message);
      process.exit(1);
    });
}
