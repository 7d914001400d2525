import versionTable from "./versionTable.json";

/**
 * The one version table every stack deploys. Staging and prod run these images by construction;
 * a stack can only deviate through `stagedRollout`, which the parity check reports.
 *
 * Every image is pinned to a tag its publisher really publishes (never `latest`), and each entry says
 * where that tag comes from. No registry is reachable from where this table was written, so no digest
 * is set yet: set `digest` once `skopeo inspect --raw docker://IMAGE:TAG` shows the tag and its arm64
 * manifest, and prod then deploys by digest.
 */
export interface ImagePin {
  /** Registry and repository, without tag. */
  repository: string;
  tag: string;
  /** Where the tag comes from (the publisher's release or build rule). */
  source: string;
  /** sha256 digest of the multi-arch manifest; set once verified. */
  digest?: string;
  /** An image this repository builds (images/<name>/Containerfile) from these build arguments. */
  build?: Record<string, string>;
  /** How the dev tier builds a stand-in on a machine that reaches only package registries. */
  localBuild?: LocalBuild;
}

/**
 * An image the dev host builds (scripts/devhost/devImages.ts): a Debian root filesystem, a binary of the
 * toolchain, and Containerfile instructions.
 */
export interface LocalBuild {
  /** What the build really is, not the table's tag it stands in for. */
  tag: string;
  builtFrom: string;
  /** The Debian root filesystem it starts from, by name (devImages.ts defines them). */
  rootfs: string;
  /** A binary `npm run tools` builds, copied to /usr/local/bin. */
  binary?: string;
  /** Files of scripts/devhost/assets copied into the image: name -> absolute path. */
  assets?: Record<string, string>;
  /** Go modules (path -> version) the binary's build must be made of; the toolchain checks its go.mod. */
  goModules?: Record<string, string>;
  /** The Debian package it is (its root filesystem installs it) and its upstream version, checked after the build. */
  debian?: { package: string; version: string };
  instructions: string[];
}

/** The table itself is data (versionTable.json), so the policy pack checks against it without importing this code. */
export const serviceImages: Record<keyof typeof versionTable, ImagePin> = versionTable;

export type ImageName = keyof typeof serviceImages;
export const imageNames = Object.keys(serviceImages) as ImageName[];

/** Whether a Debian package version (3.5.3+ds1-6, 0.19.1-1+b1) is of an upstream version (3.5.3, 0.19.1). */
export const isUpstreamVersion = (debianVersion: string, upstream: string) =>
  debianVersion === upstream || debianVersion.startsWith(`${upstream}+`) || debianVersion.startsWith(`${upstream}-`);

/** A version a stack runs ahead of the table while a release is being staged. */
export type StagedRollout = Partial<Record<ImageName, string>>;

export function imageReference(pin: Pick<ImagePin, "repository" | "tag" | "digest">): string {
  return pin.digest ? `${pin.repository}:${pin.tag}@${pin.digest}` : `${pin.repository}:${pin.tag}`;
}

/** The images a stack deploys: the shared table with the stack's staged rollout applied. */
export function resolveImages(stagedRollout: StagedRollout = {}): Record<ImageName, string> {
  const resolved = {} as Record<ImageName, string>;
  for (const name of imageNames) {
    const pin: ImagePin = serviceImages[name];
    const stagedTag = stagedRollout[name];
    resolved[name] = imageReference(stagedTag ? { repository: pin.repository, tag: stagedTag } : pin);
  }
  return resolved;
}

/** Where a stack's images come from: the registries (every real environment) or builds on the dev host. */
export const imageSources = ["registry", "local-build"] as const;
export type ImageSource = (typeof imageSources)[number];

/** Repository of the images the dev host builds when no registry is reachable (`npm run dev`). */
export const localRepository = "localhost/olympus-local";

/**
 * The images that can be built on a machine that reaches only package registries (the table's
 * `localBuild`s). Hera, Athena, the site and pgAdmin have none: their UI library is on no reachable registry.
 */
export const localBuilds: Partial<Record<ImageName, LocalBuild>> = Object.fromEntries(
  imageNames.flatMap((name) => {
    const build = serviceImages[name].localBuild;
    return build ? [[name, build]] : [];
  }),
);

/** Repository names are lower case: loginSimulator is built as login-simulator. */
export const localImage = (name: ImageName, tag: string) =>
  `${localRepository}/${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}:${tag}`;

/**
 * What a stack deploys: the table's images (with its staged rollout), or, for `local-build`, the dev
 * host's builds; images with no build are left out, and the stack reports which.
 */
export function deployedImages(
  stagedRollout: StagedRollout = {},
  source: ImageSource = "registry",
): { images: Partial<Record<ImageName, string>>; leftOut: ImageName[] } {
  const table = resolveImages(stagedRollout);
  if (source === "registry") return { images: table, leftOut: [] };
  const images: Partial<Record<ImageName, string>> = {};
  const leftOut: ImageName[] = [];
  for (const name of imageNames) {
    const build = localBuilds[name];
    if (build) images[name] = localImage(name, stagedRollout[name] ?? build.tag);
    else leftOut.push(name);
  }
  return { images, leftOut };
}
