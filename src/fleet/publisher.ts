// Publishes this node's sync state to Redis after every sync and as a heartbeat. A sync never
// waits on Redis: publish() only records the latest state and returns; one write at a time goes
// out in the background, and while Redis is away only the newest state is kept (memory stays
// bounded). Failures come back to the caller as events, once per outage, for it to log.
import type { Redis } from 'ioredis';
import { createRedisClient, redactUrl, type RedisConnectionOptions } from './connection.js';
import { LatencyWindow } from './latency.js';
import { nodeKey, REGISTRY_KEY, type NodeRecord } from './record.js';
import { backoffDelay } from '../util/backoff.js';

/** What the agent knows after one sync. */
export interface SyncReport {
  /** When the sync completed (ms since the epoch). */
  at: number;
  durationMs: number;
  /** False when the sync failed; `error` then says why. */
  ok: boolean;
  error?: string;
  /** The agent's HealthState verdict. */
  healthy: boolean;
  counts: { virtualServers: number; realServers: number; addresses: number };
  /** nodeIndependentDigest() of the desired state the sync applied. */
  digest: string;
  resourceVersions: { services: string; endpointSlices: string };
  /** Kernel objects found different from the desired state by this sync's verification. */
  driftFound?: number;
  /** Network programming latency samples completed by this sync (ms). */
  networkProgrammingMs?: readonly number[];
}

export type FleetEvent =
  /** The first publish that succeeded, or the first after an outage. */
  | { kind: 'available'; url: string }
  /** The first failure after being available (or at start): the next ones are silent until 'available'. */
  | { kind: 'unavailable'; url: string; error: string };

export interface FleetPublisherOptions extends RedisConnectionOptions {
  nodeName: string;
  agentVersion: string;
  /** Key lifetime without a heartbeat; a few sync periods. */
  ttlMs: number;
  /** Heartbeat interval (default ttlMs / 3). */
  heartbeatMs?: number;
  /** Reconnect backoff: first delay and cap (ms), doubled per attempt with jitter. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Window of the published latency histogram (default 10 minutes). */
  latencyWindowMs?: number;
  /** Drop nodes silent for longer than this from the registry (default 7 days). */
  registryRetentionMs?: number;
  /** The health verdict at heartbeat time (default: the last report's). */
  healthy?: () => boolean;
  onEvent?: (event: FleetEvent) => void;
  now?: () => number;
}

const MAX_ERROR_LENGTH = 300;

export class FleetPublisher {
  private readonly client: Redis;
  private readonly url: string;
  private readonly now: () => number;
  private readonly latency: LatencyWindow;
  private readonly heartbeatMs: number;
  private readonly retentionMs: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private readyWatchdog: NodeJS.Timeout | undefined;

  private last: Omit<SyncReport, 'networkProgrammingMs'> | undefined;
  private lastGoodSync: { at: number; durationMs: number } | null = null;
  private syncErrors = 0;
  private lastError: string | null = null;
  private driftTotal = 0;
  private lastDrift = 0;

  private dirty = false;
  private writing = false;
  private available: boolean | undefined;
  private closed = false;
  private published = 0;

  constructor(private readonly options: FleetPublisherOptions) {
    if (!(options.ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${options.ttlMs}`);
    this.url = redactUrl(options.url);
    this.now = options.now ?? Date.now;
    this.latency = new LatencyWindow({ windowMs: options.latencyWindowMs });
    this.heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(options.ttlMs / 3));
    this.retentionMs = options.registryRetentionMs ?? 7 * 24 * 3_600_000;
    const backoff = { initialMs: options.minBackoffMs ?? 200, maxMs: options.maxBackoffMs ?? 30_000 };
    this.client = createRedisClient(options, {
      // ioredis counts reconnection attempts from 1.
      retryStrategy: (times: number) => backoffDelay(times - 1, backoff),
    });
    this.client.on('error', (err: Error) => this.failed(err.message));
    this.client.on('connect', () => this.armReadyWatchdog());
    this.client.on('ready', () => {
      this.disarmReadyWatchdog();
      // Whatever could not be written while Redis was away goes out now.
      this.dirty = true;
      this.flush();
    });
    this.client.on('close', () => this.disarmReadyWatchdog());
  }

  /** Connect in the background and start the heartbeat. Returns at once. */
  start(): void {
    if (this.closed || this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      this.dirty = true;
      this.flush();
    }, this.heartbeatMs);
    this.heartbeat.unref();
    this.client.connect().catch((err: Error) => this.failed(err.message));
  }

  /** Record the outcome of a sync; written to Redis as soon as it can be, never waited for. */
  publish(report: SyncReport): void {
    if (this.closed) return;
    for (const ms of report.networkProgrammingMs ?? []) this.latency.record(ms, report.at);
    // The digest describes the desired state, which the model computed whatever the kernel
    // said; a failed sync shows in the errors (and in lastSync staying on the last good one).
    const { networkProgrammingMs: _samples, ...rest } = report;
    this.last = rest;
    if (report.ok) {
      this.lastGoodSync = { at: report.at, durationMs: report.durationMs };
      this.lastError = null;
    } else {
      this.syncErrors += 1;
      this.lastError = (report.error ?? 'sync failed').slice(0, MAX_ERROR_LENGTH);
    }
    this.driftTotal += report.driftFound ?? 0;
    if (report.ok && report.driftFound !== undefined) this.lastDrift = report.driftFound;
    this.dirty = true;
    this.flush();
  }

  /** Records written so far (for tests and status). */
  get publishedCount(): number {
    return this.published;
  }

  /**
   * Resolves true once the latest report is written, false at the deadline (Redis away, or slow).
   * For a one-shot run, which exits right after its sync: connects first if start() was not called.
   */
  async settle(timeoutMs: number): Promise<boolean> {
    if (!this.heartbeat && this.client.status === 'wait') this.client.connect().catch((err: Error) => this.failed(err.message));
    const deadline = Date.now() + timeoutMs;
    while (this.dirty || this.writing || this.published === 0) {
      if (this.closed || Date.now() >= deadline) return false;
      if (!this.writing) this.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** Stop the heartbeat and drop the connection. The key then expires and the node shows as silent. */
  close(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.disarmReadyWatchdog();
    this.client.disconnect();
  }

  /** The record as it would be written now. */
  record(): NodeRecord {
    const now = this.now();
    const lat = this.latency.summary(now);
    const last = this.last;
    return {
      v: 1,
      node: this.options.nodeName,
      agentVersion: this.options.agentVersion,
      publishedAt: now,
      ttlMs: this.options.ttlMs,
      healthy: this.options.healthy ? this.options.healthy() : (last?.healthy ?? false),
      lastSync: this.lastGoodSync,
      counts: last ? { ...last.counts } : { virtualServers: 0, realServers: 0, addresses: 0 },
      digest: last ? last.digest : null,
      resourceVersions: last ? { ...last.resourceVersions } : null,
      errors: { syncErrors: this.syncErrors, last: this.lastError },
      drift: { last: this.lastDrift, total: this.driftTotal },
      latency: { ...lat, p50Ms: lat.p50Ms ?? null, p99Ms: lat.p99Ms ?? null },
    };
  }

  private flush(): void {
    if (this.closed || this.writing || !this.dirty) return;
    // Not connected: commands would fail at once anyway; the 'ready' handler flushes later.
    if (this.client.status !== 'ready') return;
    this.dirty = false;
    this.writing = true;
    let succeeded = false;
    const rec = this.record();
    this.client
      .multi()
      .set(nodeKey(rec.node), JSON.stringify(rec), 'PX', rec.ttlMs)
      .zadd(REGISTRY_KEY, rec.publishedAt, rec.node)
      .zremrangebyscore(REGISTRY_KEY, '-inf', rec.publishedAt - this.retentionMs)
      .exec()
      .then((results) => {
        const failure = results?.find(([err]) => err)?.[0];
        if (!results || failure) throw failure ?? new Error('transaction aborted');
        this.published += 1;
        succeeded = true;
        if (this.available !== true) {
          this.available = true;
          this.options.onEvent?.({ kind: 'available', url: this.url });
        }
      })
      .catch((err: Error) => {
        this.dirty = true;
        this.failed(err.message);
        // A command that timed out on a connection that looks ready: the server or the path
        // is stuck. Drop the connection so the reconnect logic takes over.
        if (/timed out/i.test(err.message) && !this.closed) this.client.disconnect(true);
      })
      .finally(() => {
        this.writing = false;
        // Newer state arrived while writing: send it. Never retry straight after a failure: the
        // client may still say 'ready' on a dead socket, and an immediate retry would spin on
        // microtasks and starve the very close event that ends it. The next publish, heartbeat or
        // 'ready' retries.
        if (succeeded) this.flush();
      });
  }

  private failed(message: string): void {
    if (this.closed) return;
    if (this.available === false) return;
    this.available = false;
    this.options.onEvent?.({ kind: 'unavailable', url: this.url, error: message });
  }

  // A server that accepts the connection but never answers the ready check would hold the
  // client in 'connect' for ever (connectTimeout covers only the TCP connect): give up and
  // reconnect with backoff.
  private armReadyWatchdog(): void {
    this.disarmReadyWatchdog();
    const deadline = (this.options.connectTimeoutMs ?? 5_000) + (this.options.commandTimeoutMs ?? 2_000);
    this.readyWatchdog = setTimeout(() => {
      this.readyWatchdog = undefined;
      if (this.closed || this.client.status === 'ready') return;
      this.failed(`no answer from ${this.url} within ${deadline} ms`);
      this.client.disconnect(true);
    }, deadline);
    this.readyWatchdog.unref();
  }

  private disarmReadyWatchdog(): void {
    if (this.readyWatchdog) clearTimeout(this.readyWatchdog);
    this.readyWatchdog = undefined;
  }
}
