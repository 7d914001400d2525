import { describe, expect, it } from "vitest";
import { firewallRules } from "../../components/hetznerHost";
import { resolveImages } from "../../lib/versions";
import { firewallExposure, noSyntheticTrafficInProd, oneVersionTable, prodProtection } from "../../policy/rules";

type Props = Record<string, any>;
const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::olympus::${type}::${name}`;

function resourceViolations(policy: typeof firewallExposure, type: string, props: Props, stack = "staging", name = "r"): string[] {
  const violations: string[] = [];
  const validate = policy.validateResource as (args: unknown, report: (message: string) => void) => void;
  void validate({ type, props, urn: urn(stack, type, name), name, opts: { protect: false } } as never, (message: string) => violations.push(message));
  return violations;
}

function stackViolations(policy: typeof prodProtection, resources: { type: string; name: string; props: Props; protect: boolean; stack: string }[]): string[] {
  const violations: string[] = [];
  const args = { resources: resources.map((r) => ({ type: r.type, name: r.name, props: r.props, urn: urn(r.stack, r.type, r.name), opts: { protect: r.protect } })) };
  const validate = policy.validateStack as (args: unknown, report: (message: string) => void) => void;
  void validate(args, (message: string) => violations.push(message));
  return violations;
}

describe("firewall-exposure", () => {
  const firewall = "hcloud:index/firewall:Firewall";

  it("passes the rules the host component writes", () => {
    expect(resourceViolations(firewallExposure, firewall, { rules: firewallRules(["203.0.113.0/24"]) })).toEqual([]);
  });

  it("fails on PostgreSQL opened to the world and on SSH from anywhere", () => {
    const rules = [...firewallRules(["203.0.113.0/24"]), { direction: "in", protocol: "tcp", port: "5432", sourceIps: ["0.0.0.0/0"] }];
    expect(resourceViolations(firewallExposure, firewall, { rules })).toEqual([expect.stringContaining("inbound tcp/5432 from 0.0.0.0/0 is not allowed")]);
    const openSsh = firewallRules(["0.0.0.0/0"]);
    expect(resourceViolations(firewallExposure, firewall, { rules: openSsh })).toEqual([expect.stringContaining("tcp/22")]);
  });
});

describe("prod-protection", () => {
  const types = ["hcloud:index/server:Server", "hcloud:index/primaryIp:PrimaryIp", "hcloud:index/volume:Volume", "hcloud:index/zone:Zone"];
  const stack = (protect: boolean, env = "prod") => types.map((type, i) => ({ type, name: `r${i}`, props: { labels: { env }, deleteProtection: protect }, protect, stack: env }));

  it("passes a protected prod and an unprotected staging", () => {
    expect(stackViolations(prodProtection, stack(true))).toEqual([]);
    expect(stackViolations(prodProtection, stack(false, "staging"))).toEqual([]);
  });

  it("fails on an unprotected prod resource", () => {
    const resources = stack(true);
    resources[0] = { ...resources[0]!, protect: false, props: { labels: { env: "prod" }, deleteProtection: false } };
    expect(stackViolations(prodProtection, resources)).toEqual([
      "r0 (hcloud:index/server:Server) is not protected (Pulumi protect)",
      "r0 (hcloud:index/server:Server) has no Hetzner delete protection",
    ]);
  });
});

describe("no-synthetic-traffic-in-prod", () => {
  const users = { type: "pulumi-nodejs:dynamic/olympus:seed:SyntheticUsers", name: "users", props: { environment: "staging" }, protect: false };

  it("passes synthetic users in staging", () => {
    expect(stackViolations(noSyntheticTrafficInProd, [{ ...users, stack: "staging" }])).toEqual([]);
  });

  it("fails on synthetic users or a login simulator in a prod stack", () => {
    expect(stackViolations(noSyntheticTrafficInProd, [{ ...users, stack: "prod" }])).toHaveLength(1);
    const up = { type: "command:remote:Command", name: "app-up", props: { labels: {}, triggers: ["f", "m", JSON.stringify({ images: {}, stagedRollout: {}, services: ["caddy", "login-simulator"] })] }, protect: false, stack: "prod" };
    expect(stackViolations(noSyntheticTrafficInProd, [up])).toEqual([expect.stringContaining("app-up")]);
  });
});

describe("one-version-table", () => {
  const up = (images: Record<string, string>, stagedRollout: Record<string, string> = {}) => ({ triggers: ["f", "m", JSON.stringify({ images, stagedRollout, services: [] })] });

  it("passes the table, and a staged rollout in staging", () => {
    expect(resourceViolations(oneVersionTable, "command:remote:Command", up(resolveImages()), "prod", "app-up")).toEqual([]);
    expect(resourceViolations(oneVersionTable, "command:remote:Command", up(resolveImages({ hera: "v9" }), { hera: "v9" }), "staging", "app-up")).toEqual([]);
  });

  it("fails on silent drift and on a staged rollout in prod", () => {
    const drifted = { ...resolveImages(), hera: "ghcr.io/olympusoss/hera:latest" };
    expect(resourceViolations(oneVersionTable, "command:remote:Command", up(drifted), "staging", "app-up")).toEqual([expect.stringContaining("hera runs ghcr.io/olympusoss/hera:latest")]);
    expect(resourceViolations(oneVersionTable, "command:remote:Command", up(resolveImages({ hera: "v9" }), { hera: "v9" }), "prod", "app-up")).toEqual([expect.stringContaining("prod runs a staged rollout")]);
  });
});
