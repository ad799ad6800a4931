// Connection settings shared by the publisher (long-lived, reconnecting) and the reader
// (one-shot). Neither may ever wait on Redis without a deadline.
import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';

/** The URL or the password file is unusable: a configuration mistake, reported at start. */
export class FleetConfigError extends Error {
  constructor(
    readonly setting: string,
    reason: string,
  ) {
    super(`${setting}: ${reason}`);
    this.name = 'FleetConfigError';
  }
}

/** Redis could not be reached or did not answer in time (reader side). */
export class FleetUnavailableError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`fleet status store ${url} unavailable: ${reason}`);
    this.name = 'FleetUnavailableError';
  }
}

export interface RedisConnectionOptions {
  /** redis://host:port[/db] or rediss://host:port[/db] (TLS). */
  url: string;
  /** A file holding the password (a mounted Secret); wins over REDIS_PASSWORD. */
  passwordFile?: string;
  /** The environment to read REDIS_PASSWORD from (process.env by default). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Deadline for the TCP (and TLS) connection and for the server to become ready (ms). */
  connectTimeoutMs?: number;
  /** Deadline for each command (ms). */
  commandTimeoutMs?: number;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function resolvePassword(options: RedisConnectionOptions): string | undefined {
  if (options.passwordFile) {
    try {
      // A Secret mounted as a file usually ends with a newline the password does not contain.
      return readFileSync(options.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new FleetConfigError('status-redis-password-file', `cannot read ${options.passwordFile}: ${(err as Error).message}`);
    }
  }
  const fromEnv = (options.env ?? process.env).REDIS_PASSWORD;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function validateUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FleetConfigError('status-redis', `not a URL: ${redactUrl(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new FleetConfigError('status-redis', `scheme must be redis:// or rediss://, got ${u.protocol}//`);
  }
  if (!u.hostname) throw new FleetConfigError('status-redis', 'missing host');
}

/**
 * An ioredis client that never queues commands while disconnected (they fail at once) and never
 * lets one wait longer than the command timeout. Not connected yet: call connect().
 */
export function createRedisClient(options: RedisConnectionOptions, extra: RedisOptions = {}): Redis {
  validateUrl(options.url);
  const password = resolvePassword(options);
  const base: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    maxRetriesPerRequest: 0,
    // How long a closing connection may wait for the server's FIN before it is destroyed: a
    // stalled server never sends one, and the reconnect waits for the close.
    disconnectTimeout: options.commandTimeoutMs ?? 2_000,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    ...extra,
  };
  // A password in the URL wins over these (ioredis gives the URL precedence); say so in docs.
  if (password !== undefined) base.password = password;
  return new Redis(options.url, base);
}
