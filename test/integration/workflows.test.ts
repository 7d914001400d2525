import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import execa from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { binary } from "../../scripts/bench/localServices";
import { projectDir } from "../../scripts/toolchain/toolchain";

/** GitHub Actions cannot run here: the workflows are linted with actionlint and their essentials asserted. */
const workflowDir = join(projectDir, ".github", "workflows");
const workflowFiles = readdirSync(workflowDir).filter((file) => file.endsWith(".yml"));
type Step = { uses?: string; run?: string; if?: string; with?: Record<string, unknown>; name?: string };
type Job = {
  needs?: string | string[];
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  steps: Step[];
  if?: string;
  strategy?: { matrix: Record<string, unknown> };
};
// biome-ignore lint/suspicious/noExplicitAny: triggers are free-form YAML; each test reads the one it checks
type Workflow = { on: Record<string, any>; permissions?: Record<string, string>; jobs: Record<string, Job> };
const workflow = (name: string) => parse(readFileSync(join(workflowDir, `${name}.yml`), "utf8")) as Workflow;
const pulumiStep = (job: Job) => job.steps.find((step) => step.uses === "pulumi/actions@v7" && step.with?.command);

describe("the workflows", () => {
  it("publish each image this repository builds with the tag and build arguments the version table pins", () => {
    const text = readFileSync(join(workflowDir, "images.yml"), "utf8");
    const table = JSON.parse(readFileSync(join(projectDir, "lib", "versionTable.json"), "utf8")) as Record<
      string,
      { build?: Record<string, string> }
    >;
    for (const [image, pin] of Object.entries(table).filter(([, pin]) => pin.build)) {
      expect(text, image).toContain(`.${image}.repository + ":" + .${image}.tag`);
      for (const argument of Object.keys(pin.build!))
        expect(text, `${image} ${argument}`).toContain(`.${image}.build.${argument}`);
    }
  });

  it("pass actionlint (with shellcheck on their run steps)", async () => {
    expect(workflowFiles.sort()).toEqual([
      "deploy.yml",
      "images.yml",
      "preview.yml",
      "refresh-staging.yml",
      "staging-sleep.yml",
      "teardown.yml",
    ]);
    const result = await execa(
      binary("actionlint"),
      workflowFiles.map((file) => join(workflowDir, file)),
      { reject: false, all: true },
    );
    expect(result.all).toBe("");
    expect(result.exitCode).toBe(0);
  });

  it("keep tokens least-privileged: read-only by default, pull-requests: write only for preview comments", () => {
    for (const file of workflowFiles) {
      const flow = workflow(file.replace(".yml", ""));
      expect(flow.permissions, file).toEqual({ contents: "read" });
      for (const [name, job] of Object.entries(flow.jobs)) {
        if (file === "preview.yml") expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        else if (file === "staging-sleep.yml") expect(job.permissions).toEqual({ contents: "read", actions: "write" });
        else if (file === "images.yml") expect(job.permissions).toEqual({ contents: "read", packages: "write" });
        else expect(job.permissions, `${file} ${name}`).toBeUndefined();
      }
    }
  });

  it("never print a secret and always pass the self-managed backend explicitly", () => {
    for (const file of workflowFiles) {
      const text = readFileSync(join(workflowDir, file), "utf8");
      expect(text, file).not.toMatch(/echo[^\n]*\$\{\{\s*secrets\./);
      for (const job of Object.values(workflow(file.replace(".yml", "")).jobs)) {
        const step = pulumiStep(job);
        if (step) expect(step.with?.["cloud-url"], file).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
        for (const run of job.steps.filter((candidate) =>
          /npm run (preview|smoke|staging-power|refresh-staging|teardown|release-status)/.test(candidate.run ?? ""),
        )) {
          const env = {
            ...(job as Job & { env?: Record<string, string> }).env,
            ...(workflow(file.replace(".yml", "")) as Workflow & { env?: Record<string, string> }).env,
            ...(run as Step & { env?: Record<string, string> }).env,
          };
          expect(env.PULUMI_BACKEND_URL, `${file}: ${run.run}`).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
        }
      }
    }
  });
});

describe("who can read which stack's secrets", () => {
  /** Environments whose secrets decrypt or write prod: each has required reviewers (README, "Delivery"). */
  const prodEnvironments = ["production", "production-preview"];
  const jobsOf = (file: string) => Object.entries(workflow(file.replace(".yml", "")).jobs);
  const secretsIn = (value: unknown) =>
    [...JSON.stringify(value).matchAll(/secrets\.([A-Z_]+)/g)].map(([, name]) => name!);

  it("keeps every credential in an environment: no job without one reads a secret but GitHub's own token", () => {
    for (const file of workflowFiles) {
      const flow = workflow(file.replace(".yml", "")) as Workflow & { env?: unknown };
      expect(secretsIn(flow.env ?? {}), `${file}: workflow-level env`).toEqual([]);
      for (const [name, job] of jobsOf(file)) {
        const used = secretsIn(job).filter((secret) => secret !== "GITHUB_TOKEN");
        if (used.length > 0) expect(job.environment, `${file} ${name} reads ${used.join(", ")}`).toBeDefined();
      }
    }
  });

  it("names secrets the same in every environment, so a job reaches only its own stack's (no _PROD or _STAGING)", () => {
    const names = new Set(workflowFiles.flatMap((file) => jobsOf(file).flatMap(([, job]) => secretsIn(job))));
    expect([...names].filter((name) => /_(PROD|STAGING)$/.test(name))).toEqual([]);
    expect([...names]).toEqual(expect.arrayContaining(["PULUMI_CONFIG_PASSPHRASE", "STATE_SECRET_ACCESS_KEY"]));
  });

  it("runs a pull request's code with prod's secrets only in production-preview, behind its reviewers; staging's in staging", () => {
    const { jobs } = workflow("preview");
    const job = jobs.preview!;
    const environmentFor = (stack: string) =>
      job.environment!.replace(
        /\$\{\{ matrix\.stack == 'prod' && '([a-z-]+)' \|\| '([a-z-]+)' \}\}/,
        (_, prod, other) => (stack === "prod" ? prod : other),
      );
    expect(environmentFor("prod")).toBe("production-preview");
    expect(environmentFor("staging")).toBe("staging");
    // The pull_request trigger never reaches the deploying environment.
    for (const file of workflowFiles.filter(
      (candidate) => "pull_request" in workflow(candidate.replace(".yml", "")).on,
    ))
      for (const [name, found] of jobsOf(file)) expect(found.environment, `${file} ${name}`).not.toBe("production");
  });

  it("touches prod only from jobs in a reviewed environment", () => {
    for (const file of workflowFiles)
      for (const [name, job] of jobsOf(file)) {
        const text = JSON.stringify(job);
        if (/stack-name: prod|"stack-name":"prod"|'prod'/.test(text) && secretsIn(job).length > 0)
          expect(
            prodEnvironments.some(
              (environment) => job.environment?.includes(`'${environment}'`) || job.environment === environment,
            ),
            `${file} ${name}`,
          ).toBe(true);
      }
  });
});

describe("preview.yml", () => {
  const flow = workflow("preview");
  const job = flow.jobs.preview!;

  it("previews staging and prod on pull requests with the tested preview script and the pinned CLI", () => {
    expect(Object.keys(flow.on)).toEqual(["pull_request"]);
    expect(job.strategy?.matrix.stack).toEqual(["staging", "prod"]);
    const lock = JSON.parse(readFileSync(join(projectDir, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    expect(job.steps.find((step) => step.uses === "pulumi/actions@v7")?.with).toEqual({
      "pulumi-version": lock.packages["node_modules/@pulumi/pulumi"]!.version,
    });
    expect(job.steps.find((step) => step.run?.startsWith("npm run preview"))?.run).toBe(
      'npm run preview -- "$STACK" --comment preview-comment.md',
    );
    expect(job.concurrency?.group).toContain("${{ matrix.stack }}");
  });

  it("edits one comment per stack, also when the preview fails, and skips forks that have no secrets", () => {
    const comment = job.steps.find((step) => step.uses === "actions/github-script@v7");
    expect(comment?.if).toBe("always()");
    const script = String(comment?.with?.script);
    expect(script).toContain("<!-- olympus-preview-${process.env.STACK} -->");
    expect(script).toContain("updateComment");
    expect(script).toContain("failed before it printed a plan");
    expect(job.if).toContain("head.repo.full_name == github.repository");
  });
});

describe("deploy.yml", () => {
  const flow = workflow("deploy");

  it("deploys staging on every push to main, then prod only the release staging's soak passed, behind the production environment", () => {
    expect(flow.on.push.branches).toEqual(["main"]);
    expect(Object.keys(flow.on)).toEqual(["push", "workflow_dispatch"]);
    const staging = flow.jobs.staging! as Job & { outputs: Record<string, string> };
    expect(pulumiStep(staging)?.with).toMatchObject({ command: "up", "stack-name": "staging", policyPacks: "policy" });
    const status = staging.steps.find((step) => step.run?.startsWith("npm run release-status")) as Step & {
      id: string;
    };
    expect(status.run).toBe("npm run release-status -- staging");
    expect(staging.outputs.promote).toBe(`\${{ steps.${status.id}.outputs.promote }}`);
    // A sleeping staging has nothing to smoke-test from outside.
    expect(staging.steps.find((step) => step.run?.startsWith("npm run smoke"))?.if).toBe(
      `steps.${status.id}.outputs.awake == 'true'`,
    );
    expect(flow.jobs.prod!.needs).toBe("staging");
    expect(flow.jobs.prod!.if).toBe("needs.staging.outputs.promote == 'true'");
    expect(flow.jobs.prod!.environment).toBe("production");
    expect(pulumiStep(flow.jobs.prod!)?.with).toMatchObject({ command: "up", "stack-name": "prod" });
  });

  it("never cancels a running up, per stack", () => {
    expect(flow.jobs.staging!.concurrency).toEqual({ group: "deploy-staging", "cancel-in-progress": false });
    expect(flow.jobs.prod!.concurrency).toEqual({ group: "deploy-prod", "cancel-in-progress": false });
  });

  it("takes each stack's passphrase and state key from that stack's environment only", () => {
    expect([flow.jobs.staging!.environment, flow.jobs.prod!.environment]).toEqual(["staging", "production"]);
    for (const name of ["staging", "prod"]) {
      const env = (flow.jobs[name] as Job & { env: Record<string, string> }).env;
      expect(env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
      expect(env.AWS_SECRET_ACCESS_KEY).toBe("${{ secrets.STATE_SECRET_ACCESS_KEY }}");
    }
  });
});

describe("teardown.yml and refresh-staging.yml", () => {
  it("destroys staging on demand; prod only with its name typed and a production reviewer", () => {
    const flow = workflow("teardown");
    expect(Object.keys(flow.on)).toEqual(["workflow_dispatch"]);
    const job = flow.jobs.destroy!;
    expect(job.environment).toBe("${{ inputs.stack == 'prod' && 'production' || 'staging' }}");
    const guard = job.steps[0]!;
    expect(guard.if).toBe("inputs.stack == 'prod' && inputs.confirm != 'prod'");
    expect(guard.run).toContain("exit 1");
    // The teardown script refuses before anything is deleted while a resource is protected.
    expect(pulumiStep(job)).toBeUndefined();
    expect(job.steps.at(-1)?.run).toBe('npm run teardown -- --stack "$STACK" --confirm "$CONFIRM"');
  });

  it("refreshes staging monthly in its awake hours and on demand, with the script that wakes it if need be", () => {
    const flow = workflow("refresh-staging");
    const [refreshCron] = (flow.on.schedule as { cron: string }[]).map((entry) => entry.cron.split(" "));
    const [sleepCron, wakeCron] = (workflow("staging-sleep").on.schedule as { cron: string }[]).map((entry) =>
      Number(entry.cron.split(" ")[1]),
    );
    const hour = Number(refreshCron![1]);
    expect(hour >= wakeCron! && hour < sleepCron!, `refresh at ${hour}:00, awake ${wakeCron}:00-${sleepCron}:00`).toBe(
      true,
    );
    expect(flow.on.workflow_dispatch.inputs.full.type).toBe("boolean");
    const steps = flow.jobs.refresh!.steps;
    expect(steps.at(-1)?.run).toBe("npm run refresh-staging -- ${{ inputs.full && '--full' || '' }}");
    expect(steps.some((step) => step.with?.command)).toBe(false);
  });
});

describe("staging-sleep.yml", () => {
  it("sleeps and wakes on the schedule the cost estimate assumes", () => {
    const flow = workflow("staging-sleep");
    const crons = (flow.on.schedule as { cron: string }[]).map((entry) => entry.cron.split(" "));
    const [sleep, wake] = crons as [string[], string[]];
    const { config } = parsePlainConfig(readStackFile(projectDir, "staging").raw);
    const nightlyHours = (24 + Number(wake[1]) - Number(sleep[1])) % 24;
    expect(nightlyHours).toBe(config!.sleepSchedule.nightlyHours);
    // Weekday-only crons leave staging asleep from Friday evening to Monday morning.
    expect(sleep[4] === "1-5" && wake[4] === "1-5").toBe(config!.sleepSchedule.weekendsAsleep);
    expect(JSON.stringify(flow.jobs.power)).toContain("npm run staging-power");
  });

  it("after a wake, hands a release soaked by that wake to the deploy workflow, and only then", () => {
    const steps = workflow("staging-sleep").jobs.power!.steps as (Step & { id?: string })[];
    const status = steps.find((step) => step.run?.startsWith("npm run release-status"))!;
    expect(status.run).toBe('npm run release-status -- staging --soaked-since "$POWER_STARTED"');
    const dispatch = steps.at(-1)!;
    expect(dispatch.run).toContain("gh workflow run deploy.yml");
    expect(dispatch.if).toBe(
      `steps.${status.id}.outputs.promote == 'true' && steps.${status.id}.outputs.fresh == 'true'`,
    );
  });
});
