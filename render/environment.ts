import type { DeploymentSecrets, SecretVariable } from "../lib/secrets";

/** The values of the .env variables the running services read (`${NAME:?}` in compose.yml). */
export function environmentVariables(
  secrets: DeploymentSecrets,
  variables: readonly SecretVariable[],
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of variables) {
    const value = variable.value(secrets);
    if (value !== undefined) values[variable.name] = value;
  }
  return values;
}

/**
 * A .env file compose reads, and podman (`exec --env-file`, for Caddy's reloads) too: a plain value as it
 * is (podman keeps quotes as part of a value); anything else single-quoted so `$`, `#` and spaces stay
 * literal for compose.
 */
export function renderDotenv(variables: Record<string, string>): string {
  return `${Object.entries(variables)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => {
      if (/^[A-Za-z0-9_.-]+$/.test(value)) return `${name}=${value}`;
      if (/[\n']/.test(value))
        throw new Error(`${name} contains a newline or single quote, which .env cannot hold safely`);
      return `${name}='${value}'`;
    })
    .join("\n")}\n`;
}
