import * as pulumi from "@pulumi/pulumi";
import { syntheticEmails, syntheticPlan } from "./clients/identities";
import { Dns } from "./components/dns";
import { ExistingHost } from "./components/existingHost";
import { HetznerHost } from "./components/hetznerHost";
import { OAuthClients } from "./components/oauthClients";
import { OlympusStack } from "./components/olympusStack";
import { ReleaseGate } from "./components/releaseGate";
import { StackSecrets } from "./components/stackSecrets";
import { loadStackConfig } from "./lib/config/load";
import { edgeSettings } from "./lib/edge";
import type { OlympusHost } from "./lib/host";
import { mailSettings } from "./lib/mail";
import { decideAwake } from "./lib/power";
import { lastRecorded } from "./lib/previousRun";
import { estimateMonthlyCost, uptimeShare } from "./lib/pricing";
import { hostAddress } from "./lib/services";
import { hostnames, hostRecordLabel } from "./lib/topology";

/** Logical names carry no stack name, so renaming a stack renames nothing; `formerly` keeps older states. */
const name = "olympus";
const formerly = (stack: string, part: string): pulumi.ComponentResourceOptions => ({
  aliases: [{ name: `olympus-${stack}-${part}` }],
});

export = async () => {
  const config = loadStackConfig();
  // Whether the stack sleeps lives in the backend (this stack's last `awake` output), not in a checkout.
  const awake = decideAwake(config.powerRequest, await lastRecorded<boolean>("awake"), config.environment);
  const secret = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));

  const secrets = new StackSecrets(
    `${name}-secrets`,
    {
      stack: config.stack,
      protect: config.protect,
      certificateYear: config.certificateYear,
      hydraSystemRotations: config.hydraSystemRotations,
    },
    formerly(config.stack, "secrets"),
  );
  const existing = config.existingHostAccess;
  const host: OlympusHost = existing
    ? new ExistingHost(
        `${name}-host`,
        { ...existing, privateKey: pulumi.secret(existing.privateKey), awake },
        formerly(config.stack, "host"),
      )
    : new HetznerHost(
        `${name}-host`,
        {
          namePrefix: `olympus-${config.stack}-host`,
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
          awake,
        },
        formerly(config.stack, "host"),
      );

  const mail = mailSettings(config.mail, config.domain);
  const publicHostnames = hostnames(config.domain, config.siteSubdomain);
  // Caddy's first certificate request and the soak's HTTPS checks need the records in place.
  const dns = existing
    ? undefined
    : new Dns(
        `${name}-dns`,
        {
          environment: config.environment,
          domain: config.domain,
          zone: config.dnsZone,
          hostnames: Object.values(publicHostnames),
          ipv4: host.ipv4,
          ipv6: host.ipv6,
          spfInclude: mail.spfInclude,
          mailRecords: mail.records,
          protect: config.protect,
        },
        formerly(config.stack, "dns"),
      );

  const plan = syntheticPlan(config);
  const olympus = new OlympusStack(
    `${name}-app`,
    {
      stack: config.stack,
      environment: config.environment,
      domain: config.domain,
      siteSubdomain: config.siteSubdomain,
      stagedRollout: config.stagedRollout,
      imageSource: config.imageSource,
      host,
      secrets: secrets.generated,
      mail,
      smtpUri: secret(config.secrets.smtpUri),
      edge: edgeSettings(config.rateLimits),
      captchaSecretKey: secret(config.secrets.captchaSecretKey),
      loginSimulation: {
        loginsPerHour: config.loginSimulation.loginsPerHour,
        emails: config.loginSimulation.loginsPerHour > 0 ? syntheticEmails(plan, config.seeding.count) : [],
      },
      syntheticPassword: secret(config.secrets.syntheticPassword),
      // An existing machine's access is its operator's; a Hetzner server's keys follow the config.
      authorizedKeys: existing
        ? undefined
        : secrets.deployKey.apply((key) => [key.publicKey, ...config.adminSshPublicKeys]),
      backup: {
        endpoint: config.backup.endpoint,
        region: config.backup.region,
        bucket: config.backup.bucket,
        ca: config.backupCa,
      },
      alertRecipients: config.alerts.recipients,
      protect: config.protect,
      backupKeys: pulumi.secret({
        accessKeyId: config.secrets.backupAccessKeyId ?? "",
        secretAccessKey: config.secrets.backupSecretAccessKey ?? "",
      }),
    },
    { ...formerly(config.stack, "app"), dependsOn: dns ? [dns] : [] },
  );
  const started = olympus.started ? [olympus.started] : [];

  new OAuthClients(
    `${name}-oauth`,
    {
      stack: config.stack,
      environment: config.environment,
      host,
      hostnames: publicHostnames,
      secrets: secrets.generated.apply((generated) => generated.oauthClients),
      protect: config.protect,
    },
    { ...formerly(config.stack, "oauth"), dependsOn: started },
  );

  if (config.seeding.enabled)
    new ReleaseGate(
      `${name}-gate`,
      {
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
      },
      { ...formerly(config.stack, "gate"), dependsOn: started },
    );

  const sshCommand = host.sshCommand;
  // The same port on the operator's side as on the host's (Prometheus's links assume it).
  const tunnel = (service: string, portName: string) => {
    const { host: remoteHost, port } = hostAddress(service, portName);
    return pulumi.interpolate`${sshCommand} -N -L ${port}:${remoteHost}:${port}`;
  };
  return {
    environment: config.environment,
    /** Read back by the next run: the stack's sleep state. */
    awake,
    urls: Object.fromEntries(Object.entries(publicHostnames).map(([site, hostname]) => [site, `https://${hostname}`])),
    ipv4: host.ipv4,
    ipv6: host.ipv6,
    sshCommand,
    tunnels: {
      // To its address on the admin network, the only place it listens (lib/services.ts adminNetwork).
      kratosAdminCiam: tunnel("ciam-kratos", "admin"),
      pgadmin: tunnel("pgadmin", "http"),
      prometheus: tunnel("prometheus", "http"),
      alertmanager: tunnel("alertmanager", "http"),
      ...(config.mail.mode === "mailpit" ? { mailpit: tunnel("mailpit", "ui") } : {}),
    },
    hostKeyFingerprint: pulumi.unsecret(secrets.hostKey.apply((key) => key.fingerprint)),
    deployPublicKey: pulumi.unsecret(secrets.deployKey.apply((key) => key.publicKey)),
    protections: host.protections,
    // What the host-config step last applied (npm run parity -- --deployed compares it with the code).
    hostConfiguration: host instanceof HetznerHost ? host.hostConfiguration : "the existing machine's own",
    monthlyCostEur: estimateMonthlyCost({
      serverType: config.serverType,
      backups: config.backups,
      volumeSizeGb: config.volumeSizeGb,
      serverUptimeShare: awake ? uptimeShare(config.sleepSchedule) : 0,
    }),
    releaseFingerprint: olympus.releaseFingerprint,
    images: olympus.images,
    edgeCa: olympus.edgeCa ?? (awake ? "public certificates (ACME)" : "none while asleep"),
    leftOut: olympus.leftOut,
    // No output waits for a resource that can fail after the host is up (the seeding, the soak, the
    // OAuth2 clients): the engine records a run's outputs only once all of them resolve, so such an
    // output would keep a wake whose soak failed from recording `awake`, and the next plain up would put
    // the woken server back to sleep. What the soak passed is read from its resource's state
    // (npm run release-status), the seeded users and registered clients likewise.
  };
};
