/**
 * The one check for what never happens in prod (synthetic users, the soak, sleep, reseeding): the
 * config refuses it first, and each operation refuses again where it acts.
 */
export function refuseInProd(environment: string | undefined, what: string, why?: string): void {
  if (environment === "prod") throw new Error(`refusing to ${what}: it is a prod environment${why ? ` (${why})` : ""}`);
}
