import * as pulumi from "@pulumi/pulumi";
import type { OlympusHost } from "./host";
import { hostAddress } from "./services";

/**
 * Where an API is reached from the deploying machine: directly, or through an SSH local forward to where
 * the host reaches it (hostEndpoint).
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

/**
 * A service's port where the host reaches it (lib/services.ts hostAddress: a port published on its
 * loopback, or a member's address on the admin network), through an SSH tunnel with the host's pinned
 * key. Secret (it holds the key).
 */
export function hostEndpoint(host: OlympusHost, service: string, portName: string): pulumi.Output<Endpoint> {
  const { host: remoteHost, port: remotePort } = hostAddress(service, portName);
  return tunnelEndpoint(host, remoteHost, remotePort);
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
