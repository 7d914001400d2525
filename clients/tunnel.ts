import type { Endpoint, SshTarget } from "../lib/endpoint";

/**
 * Reaching an API that listens only on a host's loopback: an SSH local forward (ssh2) from an
 * ephemeral port on this machine, with the host key pinned. Or no tunnel at all when the stack runs
 * locally.
 */
export interface OpenEndpoint {
  url: string;
  close: () => Promise<void>;
}

/** An SSH session to a host whose key is pinned: any other key is refused before authenticating. */
export async function connectSsh(target: SshTarget): Promise<import("ssh2").Client> {
  const { Client } = require("ssh2") as typeof import("ssh2");
  const expected = Buffer.from(target.hostKey.trim().split(/\s+/)[1] ?? "", "base64");
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", (error) => reject(new Error(`SSH to ${target.user}@${target.host} failed: ${error.message}`)));
    client.connect({
      host: target.host,
      port: target.port ?? 22,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => key.equals(expected),
    });
  });
  return client;
}

export async function openEndpoint(endpoint: Endpoint): Promise<OpenEndpoint> {
  if (endpoint.kind === "direct") return { url: endpoint.url, close: async () => {} };
  const net = require("node:net") as typeof import("node:net");
  const client = await connectSsh(endpoint.ssh);
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

/**
 * Runs a command on a host over SSH, streaming what it prints; resolves with its exit code. Nothing of the
 * command line may be secret: it is the deploy script's verb and arguments.
 */
export async function runOverSsh(
  target: SshTarget,
  command: string,
  onOutput: (text: string) => void,
): Promise<number> {
  const client = await connectSsh(target);
  try {
    return await new Promise<number>((resolve, reject) => {
      client.exec(command, (error, channel) => {
        if (error) return reject(error);
        channel.on("data", (chunk: Buffer) => onOutput(chunk.toString()));
        channel.stderr.on("data", (chunk: Buffer) => onOutput(chunk.toString()));
        channel.on("close", (code: number | null) => resolve(code ?? 1));
      });
    });
  } finally {
    client.end();
  }
}
