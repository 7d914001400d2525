import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { hostRecordLabel } from "../lib/topology";

export interface DnsArgs {
  /** The environment's domain; the zone of that name holds every record of this stack. */
  domain: string;
  /** "create" makes the zone; "existing" adds records to a zone of that name that already exists. */
  zone: "create" | "existing";
  /** Fully qualified public hostnames, all under `domain`. */
  hostnames: string[];
  ipv4: pulumi.Input<string>;
  /** The host's IPv6 address, published for the host's own name only (see recordSets). @default undefined */
  ipv6?: pulumi.Input<string>;
  /** SPF include of the live mail provider; set only where the environment sends real mail. @default undefined */
  spfInclude?: string;
  /** The mail provider's DKIM and return-path records, as it lists them (prod). @default [] */
  mailRecords?: MailRecord[];
  /** Pulumi `protect` and Hetzner delete protection on a zone this stack creates. @default false */
  protect?: boolean;
  /** Environment kind, written into the zone's labels. */
  environment: string;
  /** TTL of every record in seconds. @default 300 */
  ttl?: number;
}

export interface RecordSet {
  /** Name relative to the zone ("@" for the apex). */
  name: string;
  type: "A" | "AAAA" | "CAA" | "TXT" | "CNAME" | "MX";
  values: string[];
}

/** A record the mail provider asks for: DKIM keys (`<selector>._domainkey`), a return-path (MAIL FROM) domain. */
export interface MailRecord {
  name: string;
  type: "CNAME" | "TXT" | "MX";
  value: string;
}

/** Whether the provider's records include a DKIM key: DMARC may reject only mail that fails both DKIM and SPF. */
export const hasDkim = (records: MailRecord[]) => records.some((record) => record.name.endsWith("._domainkey"));

/** TXT values travel quoted in the Hetzner Cloud DNS API. */
const txt = (value: string) => `"${value.replace(/"/g, '\\"')}"`;

/** Relative record name of `hostname` within the zone `domain`. */
export function relativeName(hostname: string, domain: string): string {
  if (hostname === domain) return "@";
  if (!hostname.endsWith(`.${domain}`)) throw new Error(`${hostname} is not inside the zone ${domain}`);
  return hostname.slice(0, -(domain.length + 1));
}

/** The records of one environment, as data: tested without Pulumi and by the policy pack. */
export function recordSets(args: {
  domain: string;
  hostnames: string[];
  ipv4: string;
  ipv6: string;
  spfInclude?: string;
  mailRecords?: MailRecord[];
}): RecordSet[] {
  const names = [...args.hostnames.map((hostname) => relativeName(hostname, args.domain)), hostRecordLabel];
  const sets: RecordSet[] = names.map((name): RecordSet => ({ name, type: "A", values: [args.ipv4] }));
  // The sites have no AAAA: the edge publishes on podman's IPv4 network only, and an IPv6 client that
  // found an AAAA would fail. The host's own name has one (SSH, reverse DNS), since sshd listens on it.
  if (args.ipv6) sets.push({ name: hostRecordLabel, type: "AAAA", values: [args.ipv6] });
  sets.push({
    name: "@",
    type: "CAA",
    // Only Let's Encrypt may issue certificates, and nobody may issue wildcards.
    values: ['0 issue "letsencrypt.org"', '0 issuewild ";"', `0 iodef "mailto:security@${args.domain}"`],
  });
  if (args.spfInclude) {
    const mailRecords = args.mailRecords ?? [];
    sets.push({ name: "@", type: "TXT", values: [txt(`v=spf1 include:${args.spfInclude} -all`)] });
    for (const record of mailRecords)
      sets.push({
        name: record.name,
        type: record.type,
        values: [record.type === "TXT" ? txt(record.value) : record.value],
      });
    // Reject only once the provider signs with this domain's DKIM key; until then a policy that cannot
    // reject (p=none) still reports. Relaxed alignment: a provider's return path is a subdomain.
    const policy = hasDkim(mailRecords) ? "p=reject" : "p=none";
    sets.push({
      name: "_dmarc",
      type: "TXT",
      values: [txt(`v=DMARC1; ${policy}; adkim=r; aspf=r; rua=mailto:dmarc@${args.domain}`)],
    });
  }
  return sets;
}

/**
 * The environment's DNS in Hetzner's Cloud DNS: its own zone (or an existing one by name), A for every
 * public hostname and the host (AAAA for the host only), CAA for Let's Encrypt only, and SPF, the mail
 * provider's DKIM and return-path records and DMARC where real mail is sent. Staging's zone is its own subdomain's zone, so staging never writes to prod's records.
 */
export class Dns extends pulumi.ComponentResource {
  /** The zone's name (also what its records reference). */
  readonly zoneName: pulumi.Output<string>;
  readonly recordNames: string[];

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:dns:Dns", name, {}, opts);
    const protect = args.protect ?? false;
    const ttl = args.ttl ?? 300;

    // An existing zone is referenced by name: no lookup, so preview never calls the Hetzner API.
    const zone =
      args.zone === "create"
        ? new hcloud.Zone(
            `${name}-zone`,
            {
              name: args.domain,
              mode: "primary",
              ttl,
              deleteProtection: protect,
              labels: { env: args.environment, stack: pulumi.getStack(), "managed-by": "pulumi" },
            },
            { parent: this, protect },
          ).name
        : pulumi.output(args.domain);

    // The layout is decided from config alone; addresses are filled in as outputs.
    const layout = recordSets({
      domain: args.domain,
      hostnames: args.hostnames,
      ipv4: "ipv4",
      ipv6: args.ipv6 ? "ipv6" : "",
      spfInclude: args.spfInclude,
      mailRecords: args.mailRecords,
    });
    const address = { ipv4: pulumi.output(args.ipv4), ipv6: pulumi.output(args.ipv6 ?? "") };
    for (const set of layout) {
      const values =
        set.type === "A"
          ? [address.ipv4]
          : set.type === "AAAA"
            ? [address.ipv6]
            : set.values.map((value) => pulumi.output(value));
      const logicalName = `${name}-${set.name === "@" ? "apex" : set.name.replace(/[^a-z0-9-]/g, "-")}-${set.type.toLowerCase()}`;
      new hcloud.ZoneRrset(
        logicalName,
        { zone, name: set.name, type: set.type, ttl, records: values.map((value) => ({ value })) },
        // Deleted, every site would stop resolving: protected wherever the zone is.
        { parent: this, protect },
      );
    }
    this.zoneName = zone;
    this.recordNames = layout.map((set) => `${set.name} ${set.type}`);
    this.registerOutputs({ zoneName: this.zoneName });
  }
}
