import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { recordSets } from "../../components/dns";
import versionTable from "../../lib/versionTable.json";
import {
  dmarcNeedsDkim,
  firewallExposure,
  noSyntheticTrafficInProd,
  oneVersionTable,
  prodProtection,
} from "../../policy/rules";

/**
 * The policies against hand-written resources: nothing here comes from the components the policies
 * guard, so a component that drifts cannot drag its policy along with it.
 */
// biome-ignore lint/suspicious/noExplicitAny: resource properties as the policy pack receives them
type Props = Record<string, any>;
const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::olympus::${type}::${name}`;

function resourceViolations(
  policy: typeof firewallExposure,
  type: string,
  props: Props,
  stack = "staging",
  name = "r",
): string[] {
  const violations: string[] = [];
  const validate = policy.validateResource as (args: unknown, report: (message: string) => void) => void;
  void validate(
    { type, props, urn: urn(stack, type, name), name, opts: { protect: false } } as never,
    (message: string) => violations.push(message),
  );
  return violations;
}

function stackViolations(
  policy: typeof prodProtection,
  resources: { type: string; name: string; props: Props; protect: boolean; stack: string }[],
): string[] {
  const violations: string[] = [];
  const args = {
    resources: resources.map((r) => ({
      type: r.type,
      name: r.name,
      props: r.props,
      urn: urn(r.stack, r.type, r.name),
      opts: { protect: r.protect },
    })),
  };
  const validate = policy.validateStack as (args: unknown, report: (message: string) => void) => void;
  void validate(args, (message: string) => violations.push(message));
  return violations;
}

describe("firewall-exposure", () => {
  const firewall = "hcloud:index/firewall:Firewall";
  const web = [
    { direction: "in", protocol: "tcp", port: "80", sourceIps: ["0.0.0.0/0", "::/0"] },
    { direction: "in", protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0", "::/0"] },
    { direction: "in", protocol: "udp", port: "443", sourceIps: ["0.0.0.0/0", "::/0"] },
  ];
  const ssh = (sourceIps: string[]) => ({ direction: "in", protocol: "tcp", port: "22", sourceIps });

  it("passes web from anywhere and SSH from admin networks", () => {
    expect(
      resourceViolations(firewallExposure, firewall, { rules: [...web, ssh(["203.0.113.0/24", "2001:db8::/48"])] }),
    ).toEqual([]);
  });

  it("fails on PostgreSQL opened to the world and on SSH from anywhere", () => {
    const postgres = { direction: "in", protocol: "tcp", port: "5432", sourceIps: ["0.0.0.0/0"] };
    expect(
      resourceViolations(firewallExposure, firewall, { rules: [...web, ssh(["203.0.113.0/24"]), postgres] }),
    ).toEqual([expect.stringContaining("inbound tcp/5432 from 0.0.0.0/0 is not allowed")]);
    expect(resourceViolations(firewallExposure, firewall, { rules: [...web, ssh(["::/0"])] })).toEqual([
      expect.stringContaining("tcp/22"),
    ]);
  });
});

describe("prod-protection", () => {
  const types = [
    "hcloud:index/server:Server",
    "hcloud:index/primaryIp:PrimaryIp",
    "hcloud:index/volume:Volume",
    "hcloud:index/zone:Zone",
  ];
  const stack = (protect: boolean, env = "prod") =>
    types.map((type, i) => ({
      type,
      name: `r${i}`,
      props: { labels: { env }, deleteProtection: protect },
      protect,
      stack: env,
    }));

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

/** A deploy step whose configuration bundle holds a compose file with these services and images. */
function deployStep(environment: string, images: Record<string, string>, stack = environment) {
  const compose = stringify({
    "x-olympus": { environment },
    services: Object.fromEntries(Object.entries(images).map(([service, image]) => [service, { image }])),
  });
  const stdin = `Caddyfile\t0644\t${Buffer.from("{}").toString("base64")}\ncompose.yml\t0644\t${Buffer.from(compose).toString("base64")}\n`;
  return {
    type: "command:remote:Command",
    name: "app-install-config",
    props: { create: "bash -c '...' olympus-deploy install-config", stdin },
    protect: false,
    stack,
  };
}

const table = Object.fromEntries(
  Object.entries(versionTable).map(([name, pin]) => [name, `${pin.repository}:${pin.tag}`]),
);

describe("no-synthetic-traffic-in-prod", () => {
  const users = {
    type: "pulumi-nodejs:dynamic/olympus:seed:SyntheticUsers",
    name: "users",
    props: { environment: "staging" },
    protect: false,
  };

  it("passes synthetic users and the login simulator in staging", () => {
    expect(
      stackViolations(noSyntheticTrafficInProd, [
        { ...users, stack: "staging" },
        deployStep("staging", { "login-simulator": table.loginSimulator! }),
      ]),
    ).toEqual([]);
  });

  it("fails on synthetic users in a prod stack, and on a login simulator deployed by a prod project", () => {
    expect(stackViolations(noSyntheticTrafficInProd, [{ ...users, stack: "prod" }])).toHaveLength(1);
    // The stack is not named prod: the compose file's environment gives it away.
    const simulator = deployStep(
      "prod",
      { caddy: table.caddy!, "login-simulator": table.loginSimulator! },
      "production-eu",
    );
    expect(stackViolations(noSyntheticTrafficInProd, [simulator])).toEqual([
      expect.stringContaining("deploys the login-simulator service"),
    ]);
  });
});

describe("one-version-table", () => {
  const check = (step: ReturnType<typeof deployStep>) =>
    resourceViolations(oneVersionTable, step.type, step.props, step.stack, step.name);

  it("passes the table everywhere, a staged tag in staging, and local builds of table versions in dev", () => {
    expect(check(deployStep("prod", { ciamKratos: table.kratos!, caddy: table.caddy! }))).toEqual([]);
    expect(check(deployStep("staging", { hera: `${versionTable.hera.repository}:v9.9.9` }))).toEqual([]);
    expect(check(deployStep("dev", { kratos: `localhost/olympus-local/kratos:${versionTable.kratos.tag}` }))).toEqual(
      [],
    );
  });

  it("fails on an image outside the table, a staged tag in prod, and a local build outside dev", () => {
    expect(check(deployStep("staging", { hera: "ghcr.io/evil/hera:latest" }))).toEqual([
      expect.stringContaining("hera runs ghcr.io/evil/hera:latest, which is not in the version table"),
    ]);
    expect(check(deployStep("prod", { hera: `${versionTable.hera.repository}:v9.9.9` }))).toEqual([
      expect.stringContaining("prod runs the version table only"),
    ]);
    expect(
      check(deployStep("staging", { kratos: `localhost/olympus-local/kratos:${versionTable.kratos.tag}` })),
    ).toHaveLength(1);
  });
});

describe("dmarc-needs-dkim", () => {
  const rrset = (name: string, type: string, value: string) => ({
    type: "hcloud:index/zoneRrset:ZoneRrset",
    name: `rr-${name}`,
    props: { zone: "example.com", name, type, records: [{ value }] },
    protect: false,
    stack: "prod",
  });
  const dmarc = (policy: string) => rrset("_dmarc", "TXT", `"v=DMARC1; p=${policy}; rua=mailto:dmarc@example.com"`);

  it("refuses a rejecting DMARC without a DKIM record, and passes one beside DKIM or a p=none", () => {
    expect(stackViolations(dmarcNeedsDkim, [dmarc("reject")]).join("\n")).toContain(
      "publishes a DMARC policy that rejects mail, but the zone has no DKIM record",
    );
    expect(stackViolations(dmarcNeedsDkim, [dmarc("quarantine")])).toHaveLength(1);
    expect(
      stackViolations(dmarcNeedsDkim, [dmarc("reject"), rrset("s1._domainkey", "CNAME", "s1.dkim.amazonses.com")]),
    ).toEqual([]);
    expect(stackViolations(dmarcNeedsDkim, [dmarc("none")])).toEqual([]);
  });

  it("passes what the program publishes: p=none until the provider's DKIM records are configured, then p=reject", () => {
    const base = {
      domain: "example.com",
      hostnames: ["login.example.com"],
      ipv4: "192.0.2.1",
      ipv6: "2001:db8::1",
      spfInclude: "amazonses.com",
    };
    const published = (records: Parameters<typeof recordSets>[0]["mailRecords"]) =>
      recordSets({ ...base, mailRecords: records }).map((set) => rrset(set.name, set.type, set.values[0]!));
    const withoutDkim = published([]);
    const dmarcOf = (sets: typeof withoutDkim) => JSON.stringify(sets.find((set) => set.props.name === "_dmarc"));
    expect(dmarcOf(withoutDkim)).toContain("p=none");
    expect(stackViolations(dmarcNeedsDkim, withoutDkim)).toEqual([]);
    const withDkim = published([
      { name: "s1._domainkey", type: "CNAME", value: "s1.dkim.amazonses.com" },
      { name: "bounce", type: "MX", value: "10 feedback-smtp.eu-central-1.amazonses.com" },
    ]);
    expect(dmarcOf(withDkim)).toContain("p=reject");
    expect(withDkim.map((set) => `${set.props.name} ${set.props.type}`)).toEqual(
      expect.arrayContaining(["s1._domainkey CNAME", "bounce MX"]),
    );
    expect(stackViolations(dmarcNeedsDkim, withDkim)).toEqual([]);
  });
});
