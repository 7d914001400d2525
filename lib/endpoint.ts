import * as pulumi from "@pulumi/pulumi";
import type { OlympusHost } from "./host";
import { adminHostUrl } from "./services";

/**
 * Where an API is reached from the deploying machine: directly, or through an SSH local forward to a
 * port the host publishes on its loopback only (Mailpit, Kratos's public API) or an Ory admin API at its
 * address on the admin network.
 */
export interface SshTarget {
  host: string;
  port?: number;
  user: string;
  privateKey: string;
  /** Expected host key, `ssh-ed25519 AAAA...`; the connection is refused on any other key. */
  hostKey: string;
}

export type Endpoint =
  | { kind: "direct"; url: string }
  | { kind: "ssh"; ssh: SshTarget; remoteHost: string; remotePort: number; remotePath?: string };

/** A loopback port of the host, through an SSH tunnel with the host's pinned key. Secret (it holds the key). */
export function loopbackEndpoint(host: OlympusHost, remotePort: number): pulumi.Output<Endpoint> {
  return tunnelEndpoint(host, "127.0.0.1", remotePort);
}

/** A service's admin API at its address on the admin network, which the host routes to, through an SSH tunnel. */
export function adminEndpoint(host: OlympusHost, service: string): pulumi.Output<Endpoint> {
  const url = new URL(adminHostUrl(service));
  return tunnelEndpoint(host, url.hostname, Number(url.port));
}

function tunnelEndpoint(host: OlympusHost, remoteHost: string, remotePort: number): pulumi.Output<Endpoint> {
  return pulumi.secret(
    host.connection.apply((connection) => ({
      kind: "ssh" as const,
      ssh: {
        host: connection.host as string,
        port: connection.port as number | undefined,
        user: connection.user as string,
        privateKey: connection.privateKey as string,
        hostKey: connection.hostKey as string,
      },
      remoteHost,
      remotePort,
    })),
  );
}
