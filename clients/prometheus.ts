/**
 * What the environment's Prometheus says about itself, from its HTTP API: the alerts pending or
 * firing, each scrape target's health, and the rules it evaluates. Read through an SSH tunnel to the
 * host's loopback (npm run status) or directly on the dev machine.
 */
import { request } from "./adminApi";

export interface FiringAlert {
  name: string;
  state: "pending" | "firing";
  labels: Record<string, string>;
  summary: string;
  activeAt: string;
  value: string;
}

export interface TargetHealth {
  job: string;
  instance: string;
  health: "up" | "down" | "unknown";
  lastError: string;
}

export interface MonitoringStatus {
  alerts: FiringAlert[];
  targets: TargetHealth[];
  /** Alerting rules loaded, by name. */
  rules: string[];
}

interface ApiAnswer<T> {
  status: "success" | "error";
  data: T;
  error?: string;
}

async function api<T>(baseUrl: string, path: string): Promise<T> {
  const response = await request(baseUrl, path, { method: "GET" }, { retries: 3, timeoutMs: 15_000 });
  const answer = (await response.json()) as ApiAnswer<T>;
  if (answer.status !== "success") throw new Error(`Prometheus ${path}: ${answer.error ?? "no data"}`);
  return answer.data;
}

export async function monitoringStatus(baseUrl: string): Promise<MonitoringStatus> {
  const [alerts, targets, rules] = await Promise.all([
    api<{
      alerts: {
        labels: Record<string, string>;
        annotations: Record<string, string>;
        state: FiringAlert["state"];
        activeAt: string;
        value: string;
      }[];
    }>(baseUrl, "/api/v1/alerts"),
    api<{ activeTargets: { labels: Record<string, string>; health: TargetHealth["health"]; lastError: string }[] }>(
      baseUrl,
      "/api/v1/targets?state=active",
    ),
    api<{ groups: { rules: { type: string; name: string }[] }[] }>(baseUrl, "/api/v1/rules?type=alert"),
  ]);
  return {
    alerts: alerts.alerts.map((alert) => ({
      name: alert.labels.alertname ?? "",
      state: alert.state,
      labels: alert.labels,
      summary: alert.annotations.summary ?? "",
      activeAt: alert.activeAt,
      value: alert.value,
    })),
    targets: targets.activeTargets.map((target) => ({
      job: target.labels.job ?? "",
      instance: target.labels.instance ?? "",
      health: target.health,
      lastError: target.lastError,
    })),
    rules: rules.groups.flatMap((group) => group.rules.map((rule) => rule.name)),
  };
}
