import { readFileSync } from "node:fs";
import { join } from "node:path";
import { remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../lib/config";
import type { OlympusHost } from "../lib/host";
import { composeProjectDir } from "../lib/topology";
import { resolveImages, type StagedRollout } from "../lib/versions";
import { parse } from "yaml";
import type { ComposeFile } from "../render/compose";
import { bundleFiles, releaseFingerprint, renderDeployment, type RenderedFiles } from "../render/deployment";
import type { MailSandbox } from "./mailSandbox";
import type { RateLimits } from "./rateLimits";
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
  /** Where the platform runs. */
  host: OlympusHost;
  /** Generated service secrets. Secret. */
  secrets: pulumi.Input<GeneratedSecrets>;
  mail: MailSandbox;
  edge: RateLimits;
  /** Staging's recurring synthetic logins. @default { loginsPerHour: 0, emails: [] } */
  loginSimulation?: { loginsPerHour: number; emails: string[] };
  /** Password of the synthetic users (secret), needed by the login simulator. @default undefined */
  syntheticPassword?: pulumi.Input<string>;
  /** Keys the deploy user accepts; kept in sync on every deploy. */
  authorizedKeys: pulumi.Input<string[]>;
  /** false renders the files but deploys nothing (the host is asleep). @default true */
  deploy?: boolean;
}

const deployScript = readFileSync(join(__dirname, "..", "render", "assets", "olympus-deploy.sh"));
/** Runs the deploy script before it is installed: inline, with the project directory in the environment. */
const inlineDeploy = (step: "prepare" | "install") =>
  `OLYMPUS_PROJECT_DIR=${composeProjectDir} bash -c "$(echo ${deployScript.toString("base64")} | base64 -d)" olympus-deploy ${step}`;

/**
 * The Olympus platform, modelled once for every stack: renders the compose project, the Ory and Caddy
 * configuration and the secrets for this environment, then deploys them over SSH: wait for the host,
 * install the files when they change, migrate and start the services phase by phase until healthy,
 * and take the project down on delete.
 */
export class OlympusStack extends pulumi.ComponentResource {
  /** Every file deployed to the host. Secret (the .env and the PostgreSQL key are in it). */
  readonly files: pulumi.Output<RenderedFiles>;
  /** Hash of all files and images: changes exactly when a new release is deployed. */
  readonly releaseFingerprint: pulumi.Output<string>;
  /** Names of the compose services deployed. */
  readonly services: pulumi.Output<string[]>;
  /** The step after which every service is healthy; absent when nothing is deployed. */
  readonly started?: remote.Command;

  constructor(name: string, args: OlympusStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:app:OlympusStack", name, {}, opts);

    const images = resolveImages(args.stagedRollout);
    const render = () =>
      pulumi
        .all([args.secrets, args.mail.courierUri, args.edge.captchaSecretKey, args.syntheticPassword, args.authorizedKeys])
        .apply(([generated, courierUri, captchaSecretKey, syntheticPassword, authorizedKeys]) =>
          renderDeployment({
            stack: args.stack,
            environment: args.environment,
            domain: args.domain,
            siteSubdomain: args.siteSubdomain ?? "olympus",
            images,
            mail: args.mail.settings,
            edge: args.edge.settings,
            loginSimulation: args.loginSimulation ?? { loginsPerHour: 0, emails: [] },
            authorizedKeys,
            secrets: { ...generated, smtpUri: courierUri, captchaSecretKey, syntheticPassword },
          }),
        );

    const deploy = (files: pulumi.Output<RenderedFiles>) => {
      const connection = args.host.connection;
      const prepare = new remote.Command(
        `${name}-prepare`,
        { connection, create: inlineDeploy("prepare"), triggers: [args.host.machineId] },
        { parent: this },
      );
      const install = new remote.Command(
        `${name}-install`,
        {
          connection,
          create: inlineDeploy("install"),
          // The bundle carries secrets: it travels on stdin, is stored as a secret, and is never logged.
          stdin: pulumi.secret(files.apply(bundleFiles)),
          logging: "none",
          triggers: [args.host.machineId],
        },
        { parent: this, dependsOn: [prepare], additionalSecretOutputs: ["stdout", "stderr"] },
      );
      return new remote.Command(
        `${name}-up`,
        {
          connection,
          create: `${composeProjectDir}/olympus-deploy.sh up`,
          delete: `${composeProjectDir}/olympus-deploy.sh down`,
          // Re-run when anything deployed changes; the hash reveals nothing about the secrets in it.
          // What runs is recorded in plain text so the policy pack can hold it to the version table.
          triggers: [this.releaseFingerprint, args.host.machineId, this.services.apply((services) => JSON.stringify({ images, stagedRollout: args.stagedRollout ?? {}, services }))],
          logging: "stdoutAndStderr",
        },
        { parent: this, dependsOn: [install] },
      );
    };

    this.files = pulumi.secret(render());
    this.releaseFingerprint = pulumi.unsecret(this.files.apply((files) => releaseFingerprint(files, images)));
    // compose.yml holds no secret values (they are interpolated from .env on the host).
    this.services = pulumi.unsecret(this.files.apply((files) => Object.keys((parse(files["compose.yml"]!.content) as ComposeFile).services)));
    if (args.deploy ?? true) this.started = deploy(this.files);
    this.registerOutputs({ releaseFingerprint: this.releaseFingerprint });
  }
}
