// Small shared pieces of the agent's HTTP endpoints: bind address parsing, listening with a
// typed error, and closing without waiting for idle keep-alive clients.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseBindAddress as parseSettingsBindAddress } from '../config/network.js';

/** A bind address that cannot be parsed. */
export class BindAddressError extends Error {
  constructor(
    readonly bindAddress: string,
    reason: string,
  ) {
    super(`invalid bind address "${bindAddress}": ${reason}`);
    this.name = 'BindAddressError';
  }
}

/** Listening failed (port taken, address not on this host, ...). */
export class ListenError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly code: string,
    readonly errno: number | undefined,
    message: string,
  ) {
    super(`listen on ${formatHostPort(host, port)}: ${message}`);
    this.name = 'ListenError';
  }
}

export interface HostPort {
  host: string;
  port: number;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A bind address in the settings' one syntax (src/config/network.ts: "0.0.0.0:10256",
 * "[::]:10256"), or a BindAddressError: the settings were validated with the same parser.
 */
export function parseBindAddress(bindAddress: string): HostPort {
  const parsed = parseSettingsBindAddress(bindAddress);
  if (!parsed) throw new BindAddressError(bindAddress, 'expected ip:port or [ipv6]:port with a port up to 65535');
  return parsed;
}

export interface RunningServer {
  /** The address and port actually bound (port 0 resolved). */
  readonly address: HostPort;
  close(): Promise<void>;
}

function errnoOf(err: unknown): { code: string; errno: number | undefined; message: string } {
  const e = err as NodeJS.ErrnoException;
  return { code: e.code ?? 'UNKNOWN', errno: typeof e.errno === 'number' ? e.errno : undefined, message: e.message };
}

/** Listen, resolving once bound or rejecting with a ListenError; never leaves a half-open server. */
export function listen(server: Server, host: string, port: number, ipv6Only = false): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => {
      server.off('listening', onListening);
      const { code, errno, message } = errnoOf(err);
      reject(new ListenError(host, port, code, errno, message));
    };
    const onListening = (): void => {
      server.off('error', onError);
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, ipv6Only, exclusive: true });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    // Probes keep connections alive; do not let them hold the close (and the agent's exit).
    server.closeAllConnections();
  });
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Bind a handler on a "host:port" bind address. */
export async function serve(bindAddress: string, handler: Handler): Promise<RunningServer> {
  const { host, port } = parseBindAddress(bindAddress);
  const server = createServer(handler);
  server.keepAliveTimeout = 5_000;
  const address = await listen(server, host, port);
  return { address, close: () => closeServer(server) };
}
