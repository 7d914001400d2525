import versionTable from "./versionTable.json";

/**
 * The one version table every stack deploys. Staging and prod run these images by construction;
 * a stack can only deviate through `stagedRollout`, which the parity check reports.
 *
 * Images are pinned by tag; Olympus's own images (caddy, hera, athena, site) share one release tag.
 * Set `digest` once the arm64 manifest of a tag has been verified
 * (`skopeo inspect --raw docker://IMAGE:TAG`): Olympus's ADR 0014 deploys by digest in prod.
 */
export interface ImagePin {
  /** Registry and repository, without tag. */
  repository: string;
  tag: string;
  /** sha256 digest of the multi-arch manifest; optional until verified. */
  digest?: string;
}

/** The table itself is data (versionTable.json), so the policy pack checks against it without importing this code. */
export const serviceImages: Record<keyof typeof versionTable, ImagePin> = versionTable;

export type ImageName = keyof typeof serviceImages;
export const imageNames = Object.keys(serviceImages) as ImageName[];

/** A version a stack runs ahead of the table while a release is being staged. */
export type StagedRollout = Partial<Record<ImageName, string>>;

export function imageReference(pin: ImagePin): string {
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
