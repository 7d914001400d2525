import * as pulumi from "@pulumi/pulumi";
import { Dns } from "./components/dns";
import { ExistingHost } from "./components/existingHost";
import { HetznerHost } from "./components/hetznerHost";
import { MailSandbox } from "./components/mailSandbox";
import { OAuthClients } from "./components/oauthClients";
import { OlympusStack } from "./components/olympusStack";
import { RateLimits } from "./components/rateLimits";
import { ReleaseGate } from "./components/releaseGate";
import { StackSecrets } from "./components/stackSecrets";
import type { OlympusHost } from "./lib/host";
import { estimateMonthlyCost, uptimeShare } from "./lib/pricing";
import { loadStackConfig } from "./lib/stackConfig";
import { hostnames, hostRecordLabel, loopbackPorts } from "./lib/topology";
import { syntheticEmails } from "./seed/identities";
import { syntheticPlan } from "./seed/syntheticUsers";

const config = loadStackConfig();
const name = `olympus-${config.stack}`;
const secret = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));

const secrets = new StackSecrets(`${name}-secrets`, { stack: config.stack });
const authorizedKeys = secrets.deployKey.apply((key) => [key.publicKey, ...config.adminSshPublicKeys]);

const existing = config.existingHostAccess;
const host: OlympusHost = existing
  ? new ExistingHost(`${name}-host`, { ...existing, privateKey: pulumi.secret(existing.privateKey) })
  : new HetznerHost(`${name}-host`, {
      environment: config.environment,
      serverType: config.serverType,
      location: config.location,
      image: config.image,
      volumeSizeGb: config.volumeSizeGb,
      adminCidrs: config.adminCidrs,
      adminSshPublicKeys: config.adminSshPublicKeys,
      deployKey: secrets.deployKey,
      hostKey: secrets.hostKey,
      reverseDnsName: `${hostRecordLabel}.${config.domain}`,
      protect: config.protect,
      backups: config.backups,
      awake: config.awake,
    });

const mail = new MailSandbox(`${name}-mail`, { mail: config.mail, domain: config.domain, smtpUri: secret(config.secrets.smtpUri) });
const edge = new RateLimits(`${name}-edge`, { rateLimits: config.rateLimits, captchaSecretKey: secret(config.secrets.captchaSecretKey) });
const publicHostnames = hostnames(config.domain, config.siteSubdomain);

if (!existing) {
  new Dns(`${name}-dns`, {
    environment: config.environment,
    domain: config.domain,
    zone: config.dnsZone,
    hostnames: Object.values(publicHostnames),
    ipv4: host.ipv4,
    ipv6: host.ipv6,
    spfInclude: mail.spfInclude,
    protect: config.protect,
  });
}

const plan = syntheticPlan(config);
const olympus = new OlympusStack(`${name}-app`, {
  stack: config.stack,
  environment: config.environment,
  domain: config.domain,
  siteSubdomain: config.siteSubdomain,
  stagedRollout: config.stagedRollout,
  imageSource: config.imageSource,
  host,
  secrets: secrets.generated,
  mail,
  edge,
  loginSimulation: {
    loginsPerHour: config.loginSimulation.loginsPerHour,
    emails: config.loginSimulation.loginsPerHour > 0 ? syntheticEmails(plan, config.seeding.count) : [],
  },
  syntheticPassword: secret(config.secrets.syntheticPassword),
  // An existing machine's access is its operator's; a Hetzner server's keys follow the config.
  authorizedKeys: existing ? undefined : authorizedKeys,
  deploy: config.awake,
});

const clients = olympus.started
  ? new OAuthClients(
      `${name}-oauth`,
      { stack: config.stack, environment: config.environment, host, hostnames: publicHostnames, secrets: secrets.generated.apply((generated) => generated.oauthClients) },
      { dependsOn: [olympus.started] },
    )
  : undefined;

const gate = config.seeding.enabled
  ? new ReleaseGate(`${name}-gate`, {
      stack: config.stack,
      environment: config.environment,
      host,
      publicHealthUrls: olympus.publicHealthUrls,
      oidcIssuers: [`https://${publicHostnames.ciamOauth}`, `https://${publicHostnames.iamOauth}`],
      trustedCa: olympus.edgeCa,
      plan,
      count: config.seeding.count,
      password: secret(config.secrets.syntheticPassword) ?? pulumi.output(""),
      mailSandbox: config.mail.mode === "mailpit",
      soak: config.soak.enabled ? config.soak : undefined,
      releaseFingerprint: olympus.releaseFingerprint,
    }, { dependsOn: olympus.started ? [olympus.started] : [] })
  : undefined;

const cost = estimateMonthlyCost({
  serverType: config.serverType,
  backups: config.backups,
  volumeSizeGb: config.volumeSizeGb,
  serverUptimeShare: config.awake ? uptimeShare(config.sleepSchedule) : 0,
});

export const environment = config.environment;
export const urls = Object.fromEntries(Object.entries(publicHostnames).map(([site, hostname]) => [site, `https://${hostname}`]));
export const ipv4 = host.ipv4;
export const ipv6 = host.ipv6;
export const sshCommand = host.sshCommand;
export const tunnels = {
  kratosAdminCiam: pulumi.interpolate`${host.sshCommand} -N -L ${loopbackPorts.ciam.kratosAdmin}:127.0.0.1:${loopbackPorts.ciam.kratosAdmin}`,
  pgadmin: pulumi.interpolate`${host.sshCommand} -N -L ${loopbackPorts.pgadmin}:127.0.0.1:${loopbackPorts.pgadmin}`,
  ...(config.mail.mode === "mailpit" ? { mailpit: pulumi.interpolate`${host.sshCommand} -N -L ${loopbackPorts.mailpitUi}:127.0.0.1:${loopbackPorts.mailpitUi}` } : {}),
};
export const hostKeyFingerprint = pulumi.unsecret(secrets.hostKey.apply((key) => key.fingerprint));
export const deployPublicKey = pulumi.unsecret(secrets.deployKey.apply((key) => key.publicKey));
export const protections = host.protections;
export const monthlyCostEur = cost;
export const releaseFingerprint = olympus.releaseFingerprint;
export const images = olympus.images;
export const edgeCa = olympus.edgeCa ?? "public certificates (ACME)";
export const leftOut = olympus.leftOut;
export const syntheticUsers = gate ? gate.users.total : 0;
export const oauthClients = clients ? clients.registered : "not registered while the host is asleep";
export const lastSoak = gate?.soak ? gate.soak.result : "no soak gate in this stack";
