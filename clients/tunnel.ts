import type { Endpoint } from "../lib/endpoint";

/**
 * Reaching an API that listens only on a host's loopback: an SSH local forward (ssh2) from an
 * ephemeral port on this machine, with the host key pinned. Or no tunnel at all when the stack runs
 * locally.
 */
export interface OpenEndpoint {
  url: string;
  close: () => Promise<void>;
}

export async function openEndpoint(endpoint: Endpoint): Promise<OpenEndpoint> {
  if (endpoint.kind === "direct") return { url: endpoint.url, close: async () => {} };
  const { Client } = require("ssh2") as typeof import("ssh2");
  const net = require("node:net") as typeof import("node:net");
  const expected = Buffer.from(endpoint.ssh.hostKey.trim().split(/\s+/)[1] ?? "", "base64");

  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", (error) =>
      reject(new Error(`SSH to ${endpoint.ssh.user}@${endpoint.ssh.host} failed: ${error.message}`)),
    );
    client.connect({
      host: endpoint.ssh.host,
      port: endpoint.ssh.port ?? 22,
      username: endpoint.ssh.user,
      privateKey: endpoint.ssh.privateKey,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => key.equals(expected),
    });
  });
  const server = net.createServer((socket) => {
    client.forwardOut("127.0.0.1", 0, endpoint.remoteHost, endpoint.remotePort, (error, stream) => {
      if (error) {
        socket.destroy(error);
        return;
      }
      socket.pipe(stream).pipe(socket);
      stream.on("error", () => socket.destroy());
      socket.on("error", () => stream.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as import("node:net").AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${endpoint.remotePath ?? ""}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.end();
    },
  };
}

/** Runs `work` against the endpoint and always closes the tunnel. */
export async function withEndpoint<T>(endpoint: Endpoint, work: (url: string) => Promise<T>): Promise<T> {
  const open = await openEndpoint(endpoint);
  try {
    return await work(open.url);
  } finally {
    await open.close();
  }
}
