import type { ServerType } from "./hetzner";

/**
 * Hetzner Cloud list prices in EUR per month, net of VAT, for Germany and Finland.
 * The API exposes no prices, so the table is dated: Hetzner raised prices on 2026-04-01 and again
 * for new orders and rescales from 2026-06-15. Check https://www.hetzner.com/cloud before budgeting
 * and bump `pricesAsOf` with the figures.
 */
export const pricesAsOf = "2026-04-01";

/** Monthly price of each server type (lib/hetzner.ts lists the types). */
export const serverPrices: Record<ServerType, number> = {
  cax11: 4.49,
  cax21: 7.99,
  cax31: 15.99,
  cax41: 31.49,
};

/** Backups cost a fixed share of the server price (7 daily slots). */
export const backupShareOfServerPrice = 0.2;
export const volumeEurPerGbMonth = 0.0572;
export const primaryIpv4EurPerMonth = 0.62;
export const primaryIpv6EurPerMonth = 0;

export interface CostInputs {
  serverType: ServerType;
  backups: boolean;
  volumeSizeGb: number;
  /** Fraction of the month the server exists (staging sleep deletes it at night). */
  serverUptimeShare: number;
}

export interface CostEstimate {
  pricesAsOf: string;
  server: number;
  backups: number;
  volume: number;
  primaryIps: number;
  total: number;
  /** What the same stack would cost with its server up all month. */
  totalAlwaysOn: number;
  /** totalAlwaysOn - total: the saving from deleting the server while asleep. */
  sleepSaving: number;
}

const cents = (eur: number): number => Math.round(eur * 100) / 100;

/** Monthly cost of one stack's Hetzner resources (server, backups, volume, primary IPs). */
export function estimateMonthlyCost(inputs: CostInputs): CostEstimate {
  const serverAlwaysOn = serverPrices[inputs.serverType];
  const backupsAlwaysOn = inputs.backups ? serverAlwaysOn * backupShareOfServerPrice : 0;
  const server = serverAlwaysOn * inputs.serverUptimeShare;
  const backups = backupsAlwaysOn * inputs.serverUptimeShare;
  const volume = inputs.volumeSizeGb * volumeEurPerGbMonth;
  const primaryIps = primaryIpv4EurPerMonth + primaryIpv6EurPerMonth;
  const total = server + backups + volume + primaryIps;
  const totalAlwaysOn = serverAlwaysOn + backupsAlwaysOn + volume + primaryIps;
  return {
    pricesAsOf,
    server: cents(server),
    backups: cents(backups),
    volume: cents(volume),
    primaryIps: cents(primaryIps),
    total: cents(total),
    totalAlwaysOn: cents(totalAlwaysOn),
    sleepSaving: cents(totalAlwaysOn - total),
  };
}

/** Share of the week the server exists when it sleeps nightly (and, optionally, over weekends). */
export function uptimeShare(schedule: { nightlyHours: number; weekendsAsleep: boolean }): number {
  const hoursPerWeek = 7 * 24;
  const asleep = 5 * schedule.nightlyHours + (schedule.weekendsAsleep ? 48 : 2 * schedule.nightlyHours);
  return (hoursPerWeek - asleep) / hoursPerWeek;
}
