/**
 * The dev tier's images, built on this machine when no container registry is reachable: Debian root
 * filesystems from mmdebstrap (package registry only) with the binaries `npm run tools` built from
 * source. Which images: those of the catalogue's services that the version table gives a `localBuild`,
 * named and built as it says, and labelled with a hash of the recipe, so an unchanged image is never
 * rebuilt.
 */
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { services } from "../../lib/services";
import {
  type ImageName,
  isUpstreamVersion,
  type LocalBuild,
  localBuilds,
  localImage,
  localRepository,
} from "../../lib/versions";
import { cacheRoot, toolBinary } from "../toolchain/toolchain";

interface RootFilesystem {
  suite: string;
  packages: string[];
  /** apt options, e.g. for a suite whose Release file is past its date on the mirror. */
  aptOptions?: string[];
  /** Commands run in the new system after its essential packages, before the others are installed. */
  essentialHooks?: string[];
}

const rootFilesystems = {
  base: { suite: "bookworm", packages: ["ca-certificates", "wget", "curl"] },
  // Debian's postgres user gets uid 70 before the package creates it: the deploy step gives the server
  // key to uid 70, as the official alpine image expects.
  postgres: {
    suite: "forky",
    packages: ["postgresql-18", "pgbackrest", "ca-certificates", "wget"],
    aptOptions: ['Acquire::Check-Valid-Until "false"'],
    // The essential packages have no useradd yet: the accounts are written directly.
    essentialHooks: [
      'echo "postgres:x:70:" >> "$1/etc/group"',
      'echo "postgres:x:70:70:PostgreSQL administrator:/var/lib/postgresql:/bin/bash" >> "$1/etc/passwd"',
    ],
  },
  // Prometheus, Alertmanager and the exporters: the Debian packages the version table names.
  monitoring: {
    suite: "forky",
    packages: [
      ...Object.values(localBuilds).flatMap((build) =>
        build.rootfs === "monitoring" && build.debian ? [build.debian.package] : [],
      ),
      "ca-certificates",
      // The health checks (compose.yml) ask with wget, as in the official images' busybox.
      "wget",
    ],
    aptOptions: ['Acquire::Check-Valid-Until "false"'],
  },
} satisfies Record<string, RootFilesystem>;

const assetsDir = join(__dirname, "assets");

const log = (message: string) => console.log(`[dev-images] ${message}`);
const hash = (...parts: (string | Buffer)[]) =>
  parts
    .reduce((digest, part) => digest.update(part).update("\0"), createHash("sha256"))
    .digest("hex")
    .slice(0, 16);

/** A root filesystem tarball, built once per definition. */
async function rootFilesystem(name: keyof typeof rootFilesystems): Promise<{ image: string; key: string }> {
  const definition: RootFilesystem = rootFilesystems[name];
  const key = hash(JSON.stringify(definition));
  const image = `${localRepository}/rootfs-${name}:${key}`;
  if ((await execa("podman", ["image", "exists", image], { reject: false })).exitCode === 0) return { image, key };
  const dir = join(cacheRoot, "rootfs");
  mkdirSync(dir, { recursive: true });
  const tarball = join(dir, `${name}-${key}.tar`);
  // mmdebstrap picks its output format from the file name.
  const partial = join(dir, `${name}-${key}.partial.tar`);
  if (!existsSync(tarball)) {
    log(`building the ${name} root filesystem (${definition.suite}: ${definition.packages.join(", ")})`);
    const started = performance.now();
    await execa(
      "mmdebstrap",
      [
        "--variant=minbase",
        `--include=${definition.packages.join(",")}`,
        ...(definition.aptOptions ?? []).map((option) => `--aptopt=${option}`),
        ...(definition.essentialHooks ?? []).map((hook) => `--essential-hook=${hook}`),
        // Documentation and apt's lists are not needed at run time.
        "--dpkgopt=path-exclude=/usr/share/{doc,man,info,locale}/*",
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/*',
        definition.suite,
        partial,
      ],
      { all: true },
    ).catch((error: { all?: string }) => {
      throw new Error(
        `mmdebstrap of ${definition.suite} failed:\n${(error.all ?? "").split("\n").slice(-15).join("\n")}`,
      );
    });
    renameSync(partial, tarball);
    log(`${name} root filesystem built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  await execa("podman", ["import", tarball, image]);
  return { image, key };
}

/** The image holds the upstream version the table names: forky moves, and the table must move with it. */
async function checkDebianVersion(image: string, { package: name, version }: { package: string; version: string }) {
  const { stdout } = await execa("podman", [
    ...["run", "--rm", "--entrypoint", "dpkg-query", image],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax, not a template
    ...["--show", "--showformat", "${Version}", name],
  ]);
  if (!isUpstreamVersion(stdout.trim(), version)) {
    await execa("podman", ["rmi", image], { reject: false });
    throw new Error(
      `${image}: Debian forky now ships ${name} ${stdout.trim()}, the version table says ${version}; update lib/versionTable.json (the dev build and the registry tag staging and prod run) together`,
    );
  }
}

/** The images the dev tier runs and can build: those of the catalogue's services with a local build. */
export function devImageBuilds(): [ImageName, LocalBuild][] {
  const used = new Set(Object.values(services).map((service) => service.image));
  return (Object.entries(localBuilds) as [ImageName, LocalBuild][]).filter(([name]) => used.has(name));
}

const isRootFilesystem = (name: string): name is keyof typeof rootFilesystems => name in rootFilesystems;

/** Builds every image of `devImageBuilds` that is missing or whose recipe changed; returns the images by reference. */
export async function buildDevImages(): Promise<string[]> {
  const built: string[] = [];
  for (const [name, recipe] of devImageBuilds()) {
    if (!isRootFilesystem(recipe.rootfs))
      throw new Error(
        `the version table builds ${name} on the ${recipe.rootfs} root filesystem, which scripts/devhost/devImages.ts does not define (${Object.keys(rootFilesystems).join(", ")})`,
      );
    const reference = localImage(name, recipe.tag);
    const rootfs = await rootFilesystem(recipe.rootfs);
    const binary = recipe.binary ? toolBinary(recipe.binary) : undefined;
    const assets = Object.keys(recipe.assets ?? {}).map((asset) => readFileSync(join(assetsDir, asset)));
    const key = hash(rootfs.key, JSON.stringify(recipe), binary ? readFileSync(binary) : "", ...assets);
    const { stdout: label } = await execa(
      "podman",
      ["image", "inspect", "--format", '{{index .Labels "olympus.recipe"}}', reference],
      { reject: false },
    );
    if (label === key) continue;
    const context = mkdtempSync(join(tmpdir(), "olympus-image-"));
    try {
      const lines = [`FROM ${rootfs.image}`, `LABEL olympus.recipe=${key}`];
      if (binary) {
        copyFileSync(binary, join(context, recipe.binary!));
        lines.push(`COPY ${recipe.binary} /usr/local/bin/${recipe.binary}`);
      }
      for (const [asset, target] of Object.entries(recipe.assets ?? {})) {
        copyFileSync(join(assetsDir, asset), join(context, asset));
        lines.push(`COPY --chmod=0755 ${asset} ${target}`);
      }
      writeFileSync(join(context, "Containerfile"), [...lines, ...recipe.instructions, ""].join("\n"));
      log(`building ${reference}`);
      await execa("podman", ["build", "--quiet", "--tag", reference, context], { all: true }).catch(
        (error: { all?: string }) => {
          throw new Error(`building ${reference} failed:\n${(error.all ?? "").split("\n").slice(-15).join("\n")}`);
        },
      );
      if (recipe.debian) await checkDebianVersion(reference, recipe.debian);
      built.push(reference);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }
  return built;
}
