import { readFileSync } from "node:fs";
import { join } from "node:path";
import { remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { BackupRepository } from "../lib/backup";
import type { Environment } from "../lib/config/schema";
import { captchaSecret, type EdgeSettings } from "../lib/edge";
import type { OlympusHost } from "../lib/host";
import { courierUri, type MailSettings } from "../lib/mail";
import { composeProjectDir } from "../lib/topology";
import { deployedImages, type ImageName, type ImageSource, type StagedRollout } from "../lib/versions";
import {
  bundleFiles,
  type RenderedFiles,
  type RenderedRelease,
  releaseFingerprint,
  renderConfigFiles,
  renderSecretFiles,
} from "../render/deployment";
import type { GeneratedSecrets } from "./stackSecrets";

export interface OlympusStackArgs {
  stack: string;
  environment: Environment;
  /** The environment's domain; every public hostname hangs under it. */
  domain: string;
  /** Label of the brochure site. @default "olympus" */
  siteSubdomain?: string;
  /** Tags this stack runs ahead of the shared version table (staging only). @default {} */
  stagedRollout?: StagedRollout;
  /** The registries' images, or the dev host's own builds (services without one are left out). @default "registry" */
  imageSource?: ImageSource;
  /** Where the platform runs; nothing is deployed while it sleeps (and `down` runs as it falls asleep). */
  host: OlympusHost;
  /** Generated service secrets. Secret. */
  secrets: pulumi.Input<GeneratedSecrets>;
  /** How the Kratos couriers send mail (lib/mail.ts). */
  mail: MailSettings;
  /** The provider's SMTP URI (secret); used only where mail goes to a provider, not Mailpit. @default undefined */
  smtpUri?: pulumi.Input<string>;
  /** Rate limits, lockout and CAPTCHA (lib/edge.ts). */
  edge: EdgeSettings;
  /** Turnstile secret key (secret); read only for captcha "turnstile". @default undefined */
  captchaSecretKey?: pulumi.Input<string>;
  /** Staging's recurring synthetic logins. @default { loginsPerHour: 0, emails: [] } */
  loginSimulation?: { loginsPerHour: number; emails: string[] };
  /** Password of the synthetic users (secret), needed by the login simulator. @default undefined */
  syntheticPassword?: pulumi.Input<string>;
  /** Keys the deploy user accepts, kept in sync on every deploy; unset, the host's own access is left alone. @default undefined */
  authorizedKeys?: pulumi.Input<string[]>;
  /** Where PostgreSQL's backups go (lib/backup.ts). */
  backup: BackupRepository;
  /** Who the environment's alerts are mailed to, by the same mail route as the couriers' mail. */
  alertRecipients: string[];
  /**
   * Pulumi `protect` on the step that owns the project's lifetime (its delete runs `down`), so a raw
   * `pulumi destroy` of prod stops before it takes the platform down. @default false
   */
  protect?: boolean;
  /** The backup repository's key pair, from the stack config. Secret. */
  backupKeys: pulumi.Input<{ accessKeyId: string; secretAccessKey: string }>;
}

const deployScript = readFileSync(join(__dirname, "..", "render", "assets", "olympus-deploy.sh"));
const installedScript = `${composeProjectDir}/olympus-deploy.sh`;
const installedDeploy = (verb: string) => `${installedScript} ${verb}`;
/** Runs the deploy script before it is installed: inline, with the project directory in the environment. */
const inlineDeploy = (verb: string) =>
  `OLYMPUS_PROJECT_DIR=${composeProjectDir} bash -c "$(echo ${deployScript.toString("base64")} | base64 -d)" olympus-deploy ${verb}`;

/**
 * The Olympus platform, modelled once for every stack: renders the compose project, the Ory and Caddy
 * configuration and the secrets for this environment, then deploys them over SSH: prepare the host,
 * install the configuration (known at preview, so policies and PR diffs see it) and the secrets, then
 * migrate and start the services phase by phase until healthy. The project comes down only when the
 * stack is destroyed or the host goes away, never when a release replaces the previous one.
 */
export class OlympusStack extends pulumi.ComponentResource {
  /** Configuration files deployed to the host, rendered from config alone (no secret in them). */
  readonly configFiles: RenderedFiles;
  /** Secret files deployed to the host (.env, the PostgreSQL key and certificates, authorized_keys). Secret. */
  readonly secretFiles: pulumi.Output<RenderedFiles>;
  /** Hash of all files and images: changes exactly when a new release is deployed. */
  readonly releaseFingerprint: pulumi.Output<string>;
  /** Names of the compose services deployed. */
  readonly services: string[];
  /** The image each service runs. */
  readonly images: Partial<Record<ImageName, string>>;
  /** Images of the version table this stack runs without (no build of them where it runs). */
  readonly leftOut: ImageName[];
  /** Public URLs that answer when the release is healthy (health endpoints through Caddy). */
  readonly publicHealthUrls: string[];
  /** Root certificate of Caddy's internal CA where sites use it (the dev tier); absent elsewhere. */
  readonly edgeCa?: pulumi.Output<string>;
  /** The step after which every service is healthy; absent while the host sleeps (nothing deployed). */
  readonly started?: remote.Command;

  constructor(name: string, args: OlympusStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:app:OlympusStack", name, {}, opts);
    const parent = this;

    const { images } = deployedImages(args.stagedRollout, args.imageSource);
    const release = renderRelease();
    this.images = images;
    this.configFiles = release.files;
    this.services = release.services;
    this.leftOut = release.leftOut;
    this.publicHealthUrls = release.publicHealthUrls;
    this.secretFiles = renderSecrets(release);
    // The hash reveals nothing about the secrets in it.
    this.releaseFingerprint = pulumi.unsecret(
      this.secretFiles.apply((secretFiles) => releaseFingerprint({ ...release.files, ...secretFiles }, images)),
    );
    if (args.host.awake) {
      this.started = deploy(this.releaseFingerprint);
      // Caddy's internal CA signs the dev tier's certificates; clients that verify them need its root.
      if (args.environment === "dev") this.edgeCa = readEdgeCa(this.started);
    }
    this.registerOutputs({
      releaseFingerprint: this.releaseFingerprint,
      services: this.services,
      images,
      leftOut: this.leftOut,
    });

    /** The configuration files and what they decide, from config alone. */
    function renderRelease(): RenderedRelease {
      return renderConfigFiles({
        stack: args.stack,
        environment: args.environment,
        domain: args.domain,
        siteSubdomain: args.siteSubdomain ?? "olympus",
        images,
        mail: args.mail,
        edge: args.edge,
        loginSimulation: args.loginSimulation ?? { loginsPerHour: 0, emails: [] },
        backup: args.backup,
      });
    }

    /** The .env with exactly the variables the release's services read, the PostgreSQL key, authorized_keys. */
    function renderSecrets(rendered: RenderedRelease): pulumi.Output<RenderedFiles> {
      return pulumi.secret(
        pulumi
          .all([
            args.secrets,
            args.smtpUri,
            args.captchaSecretKey,
            args.syntheticPassword,
            args.authorizedKeys,
            args.backupKeys,
          ])
          .apply(
            ([
              { backupPassphrase, ...generated },
              smtpUri,
              captchaSecretKey,
              syntheticPassword,
              authorizedKeys,
              backupKeys,
            ]) =>
              renderSecretFiles(
                {
                  mail: args.mail,
                  alerting: { environment: args.environment, recipients: args.alertRecipients },
                  authorizedKeys,
                  secrets: {
                    ...generated,
                    smtpUri: courierUri(args.mail, smtpUri),
                    captchaSecretKey: captchaSecret(args.edge.captchaMode, captchaSecretKey),
                    syntheticPassword,
                    backup: { ...backupKeys, passphrase: backupPassphrase },
                  },
                },
                rendered,
              ),
          ),
      );
    }

    /** A command on the host; the previous run's output is never sent back to it in its environment. */
    function step(
      part: string,
      inputs: Omit<remote.CommandArgs, "connection">,
      options: pulumi.CustomResourceOptions = {},
    ): remote.Command {
      return new remote.Command(
        `${name}-${part}`,
        { connection: args.host.connection, addPreviousOutputInEnv: false, ...inputs },
        { parent, ...options },
      );
    }

    /** Prepare the host, install the configuration and the secrets, then start the release phase by phase. */
    function deploy(fingerprint: pulumi.Output<string>): remote.Command {
      // Owns the project's lifetime: replaced only with the machine (deleted first, while the old project
      // is still there), so `down` runs on destroy, before a sleeping server is deleted, and never on a release.
      const prepare = step(
        "prepare",
        {
          create: inlineDeploy("prepare"),
          delete: `test ! -x ${installedScript} || ${installedDeploy("down")}`,
          triggers: [args.host.machineId],
        },
        { deleteBeforeReplace: true, protect: args.protect ?? false },
      );
      const installConfig = step(
        "install-config",
        {
          create: inlineDeploy("install-config"),
          stdin: bundleFiles(release.files),
          triggers: [args.host.machineId],
        },
        { dependsOn: [prepare] },
      );
      const installSecrets = step(
        "install-secrets",
        {
          create: installedDeploy("install-secrets"),
          // The bundle carries secrets: it travels on stdin, is stored as a secret, and is never logged.
          stdin: pulumi.secret(parent.secretFiles.apply(bundleFiles)),
          logging: "none",
          triggers: [args.host.machineId],
        },
        { dependsOn: [installConfig], additionalSecretOutputs: ["stdout", "stderr"] },
      );
      // A new release replaces this step: the new one starts it; the old one's delete does nothing. So does
      // a new installation: after a release that failed here (the engine keeps the inputs of the last one
      // that succeeded), the files of the release taken back are installed anew and started again.
      return step(
        "up",
        {
          create: installedDeploy("up"),
          triggers: [fingerprint, args.host.machineId, installConfig.stdout, installSecrets.stdout],
          logging: "stdoutAndStderr",
        },
        { dependsOn: [installSecrets] },
      );
    }

    function readEdgeCa(started: remote.Command): pulumi.Output<string> {
      return step(
        "edge-ca",
        { create: installedDeploy("edge-ca"), triggers: [args.host.machineId], logging: "stderr" },
        { dependsOn: [started] },
      ).stdout;
    }
  }
}
