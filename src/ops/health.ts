// The agent's own health, as kube-proxy defines it: healthy unless a change has been waiting
// unapplied for more than the sync period plus a margin of one more period (kube-proxy's
// 2 x syncPeriod). A pass that fails, or leaves writes pending, has not applied its change: the
// change keeps waiting, so an agent whose every pass fails turns unhealthy. An idle agent with
// nothing queued stays healthy however long ago it last synced. A problem check (a source that
// cannot be read, the agent holding the kernel as it is) also makes /healthz fail at once. /healthz also fails while the Node is going away (being
// deleted, or tainted by the cluster autoscaler) or the agent is shutting down, so that load
// balancers probing it drain the node first; /livez is the timing check alone.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serve, type RunningServer } from './http.js';

/** Go's zero time, which kube-proxy reports as lastUpdated before its first sync. */
const NEVER = '0001-01-01T00:00:00.000Z';

export interface HealthStateOptions {
  syncPeriodMs: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /**
   * Count the first sync as queued from construction, so that an agent that never manages a
   * first sync (API server unreachable) turns unhealthy after 2 x syncPeriod instead of looking
   * idle. Default false.
   */
  firstSyncPending?: boolean;
}

export interface HealthSnapshot {
  /** Timing check: nothing has been waiting longer than 2 x syncPeriod. */
  live: boolean;
  /** live, node eligible and not shutting down: what /healthz and health check node ports report. */
  healthy: boolean;
  nodeEligible: boolean;
  shuttingDown: boolean;
  /** What the problem checks report now (each makes healthy false). */
  problems: string[];
  /** Time of the last completed sync (ms), undefined before the first. */
  lastUpdated: number | undefined;
  currentTime: number;
  /** Since when the oldest unapplied change has been waiting (ms), if any. */
  oldestPending: number | undefined;
}

export class HealthState {
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private lastUpdated: number | undefined;
  /** Oldest change queued and not yet taken by a sync. */
  private pendingSince: number | undefined;
  /** Oldest change taken by the sync now running (still unapplied until it completes). */
  private inFlightSince: number | undefined;
  /** Whether syncStarted() marked the running sync's snapshot. */
  private syncRunning = false;
  private eligible = true;
  private stopping = false;
  private readonly checks = new Map<string, () => string | undefined>();

  constructor(options: HealthStateOptions) {
    if (!(options.syncPeriodMs > 0)) throw new RangeError(`syncPeriodMs must be > 0, got ${options.syncPeriodMs}`);
    this.timeoutMs = 2 * options.syncPeriodMs;
    this.now = options.now ?? Date.now;
    if (options.firstSyncPending) this.pendingSince = this.now();
  }

  /** A change arrived that the kernel does not reflect yet. Only the oldest time matters. */
  queued(t: number = this.now()): void {
    if (this.pendingSince === undefined || t < this.pendingSince) this.pendingSince = t;
  }

  /**
   * A sync took its snapshot of the desired state: what was queued until now is in flight, and
   * changes queued from here on wait for the next sync. Optional: without it, synced() clears all.
   */
  syncStarted(): void {
    this.syncRunning = true;
    if (this.pendingSince === undefined) return;
    if (this.inFlightSince === undefined || this.pendingSince < this.inFlightSince) this.inFlightSince = this.pendingSince;
    this.pendingSince = undefined;
  }

  /** A sync completed and the kernel now reflects the snapshot it took. */
  synced(t: number = this.now()): void {
    this.lastUpdated = t;
    if (this.syncRunning) this.inFlightSince = undefined;
    else this.pendingSince = undefined;
    this.syncRunning = false;
  }

  /** The sync now running failed or left writes pending: its changes are still unapplied. */
  failed(): void {
    this.syncRunning = false;
  }

  /**
   * The kernel was found holding what was programmed (a background check, a drain pass): counts
   * as an update only when no change is waiting, so that a clean read never hides a failed sync.
   */
  heartbeat(t: number = this.now()): void {
    if (this.pendingSince === undefined && this.inFlightSince === undefined) this.lastUpdated = t;
  }

  /** A named check run at every snapshot: a message while something is wrong, else undefined. */
  addCheck(name: string, check: () => string | undefined): void {
    this.checks.set(name, check);
  }

  /** From the Node object: false while it is being deleted or tainted ToBeDeletedByClusterAutoscaler. */
  nodeEligible(eligible: boolean): void {
    this.eligible = eligible;
  }

  /** SIGTERM received: report unhealthy from now on so that load balancers drain this node. */
  shuttingDown(): void {
    this.stopping = true;
  }

  snapshot(): HealthSnapshot {
    const currentTime = this.now();
    const oldest = minDefined(this.pendingSince, this.inFlightSince);
    const live = oldest === undefined || currentTime - oldest <= this.timeoutMs;
    const problems: string[] = [];
    for (const check of this.checks.values()) {
      const p = check();
      if (p !== undefined) problems.push(p);
    }
    return {
      live,
      healthy: live && this.eligible && !this.stopping && problems.length === 0,
      nodeEligible: this.eligible,
      shuttingDown: this.stopping,
      problems,
      lastUpdated: this.lastUpdated,
      currentTime,
      oldestPending: oldest,
    };
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** The parts of a core/v1 Node that decide eligibility. */
export interface NodeLike {
  metadata?: { deletionTimestamp?: unknown };
  spec?: { taints?: ReadonlyArray<{ key?: string; effect?: string }> };
}

export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** kube-proxy's rule: a Node being deleted or marked for deletion by the autoscaler is not eligible. */
export function isNodeEligible(node: NodeLike | undefined): boolean {
  if (!node) return true;
  if (node.metadata?.deletionTimestamp) return false;
  return !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
}

/** Counters the health endpoints bump; implemented by ProxyMetrics. */
export interface HealthCounters {
  healthz(code: number): void;
  livez(code: number): void;
}

export interface HealthBody {
  lastUpdated: string;
  currentTime: string;
  nodeEligible: boolean;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? NEVER : new Date(ms).toISOString();
}

export function healthBody(s: HealthSnapshot): HealthBody {
  return { lastUpdated: iso(s.lastUpdated), currentTime: iso(s.currentTime), nodeEligible: s.nodeEligible };
}

/** The request handler, separate from the listener so the agent can mount it elsewhere. */
export function healthHandler(health: HealthState, counters?: HealthCounters) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/livez') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('404 page not found\n');
      return;
    }
    const snap = health.snapshot();
    const ok = path === '/healthz' ? snap.healthy : snap.live;
    const code = ok ? 200 : 503;
    if (path === '/healthz') counters?.healthz(code);
    else counters?.livez(code);
    res.writeHead(code, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(healthBody(snap)));
  };
}

export interface HealthServerOptions {
  /** "0.0.0.0:10256" by default in the agent's settings. */
  bindAddress: string;
  health: HealthState;
  metrics?: HealthCounters;
}

/** Serve /healthz and /livez. Rejects with ListenError when the address cannot be bound. */
export function startHealthServer(options: HealthServerOptions): Promise<RunningServer> {
  return serve(options.bindAddress, healthHandler(options.health, options.metrics));
}
