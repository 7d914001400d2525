/**
 * The Hetzner Cloud catalogue this project deploys onto: the ARM (cax) server types, as Hetzner lists
 * them, and the locations that offer them. Prices are lib/pricing.ts's, dated separately.
 */
export const serverTypes = {
  cax11: { vcpus: 2, memoryGb: 4, diskGb: 40 },
  cax21: { vcpus: 4, memoryGb: 8, diskGb: 80 },
  cax31: { vcpus: 8, memoryGb: 16, diskGb: 160 },
  cax41: { vcpus: 16, memoryGb: 32, diskGb: 320 },
} as const;

export type ServerType = keyof typeof serverTypes;
export const serverTypeNames = Object.keys(serverTypes) as ServerType[];

/** Hetzner locations that offer the ARM (cax) server types. */
export const armLocations = ["fsn1", "nbg1", "hel1"] as const;

/** Where a Hetzner volume's block device appears on its server. */
export const volumeDevicePath = (volumeId: string | number) => `/dev/disk/by-id/scsi-0HC_Volume_${volumeId}`;
