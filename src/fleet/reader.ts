// The fleet view: read every node's record (and the registry, so that nodes whose key expired
// still show, as silent), decide which agree, and aggregate the latency SLI over all of them.
import { createRedisClient, FleetUnavailableError, redactUrl, type RedisConnectionOptions } from './connection.js';
import { HISTOGRAM_SCHEMA, mergeBuckets, summarise, type SparseBuckets } from './latency.js';
import { FleetRecordError, nodeKey, parseNodeRecord, REGISTRY_KEY, type NodeRecord } from './record.js';
import { messageOf } from '../util/errors.js';

/** One node as stored: its record if the key is still alive, and when it last published. */
export interface FleetNode {
  name: string;
  /** From the registry (ms since the epoch); undefined if the registry lost it. */
  lastSeenAt: number | undefined;
  record: NodeRecord | undefined;
  /** Why a stored record could not be used (another layout version, damaged). */
  problem?: string;
}

export type ReadFleetOptions = Omit<RedisConnectionOptions, 'url'> & {
  /** Overall deadline for connecting and reading (default connect + 2 x command timeout). */
  timeoutMs?: number;
};

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function readFleet(url: string, options: ReadFleetOptions = {}): Promise<FleetNode[]> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
  const deadline = options.timeoutMs ?? connectTimeoutMs + 2 * commandTimeoutMs;
  // One attempt, no reconnect loop: the CLI reports and exits.
  const client = createRedisClient({ ...options, url, connectTimeoutMs, commandTimeoutMs }, { retryStrategy: () => null });
  let lastError: string | undefined;
  client.on('error', (err: Error) => {
    lastError = err.message;
  });
  try {
    const read = async (): Promise<FleetNode[]> => {
      await client.connect();
      const flat = await client.zrange(REGISTRY_KEY, 0, -1, 'WITHSCORES');
      const names: string[] = [];
      const seen = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) {
        names.push(flat[i]);
        seen.set(flat[i], Number(flat[i + 1]));
      }
      const values = names.length > 0 ? await client.mget(...names.map(nodeKey)) : [];
      return names.map((name, i) => {
        const text = values[i];
        const node: FleetNode = { name, lastSeenAt: seen.get(name), record: undefined };
        if (text === null || text === undefined) return node;
        try {
          node.record = parseNodeRecord(nodeKey(name), text);
        } catch (err) {
          node.problem = err instanceof FleetRecordError ? err.message : String(err);
        }
        return node;
      });
    };
    return await withDeadline(read(), deadline, redactUrl(url));
  } catch (err) {
    const reason = messageOf(err);
    throw new FleetUnavailableError(redactUrl(url), lastError && lastError !== reason ? `${reason} (${lastError})` : reason);
  } finally {
    client.disconnect();
  }
}

export type Agreement = 'agrees' | 'disagrees' | 'no-peers' | 'unknown';

export interface FleetNodeStatus {
  node: string;
  /** silent: no heartbeat within its TTL (or the key expired). */
  state: 'healthy' | 'unhealthy' | 'silent';
  lastSeenAgeMs: number | null;
  lastSyncAgeMs: number | null;
  lastSyncDurationMs: number | null;
  agentVersion: string | null;
  digest: string | null;
  /** Against the other live nodes that reflect the same resourceVersions. */
  agreement: Agreement;
  resourceVersions: { services: string; endpointSlices: string } | null;
  counts: { virtualServers: number; realServers: number; addresses: number } | null;
  drift: { last: number; total: number } | null;
  errors: { syncErrors: number; last: string | null } | null;
  latency: { count: number; p50Ms: number | null; p99Ms: number | null } | null;
  problem: string | null;
}

export interface FleetView {
  generatedAt: number;
  nodes: FleetNodeStatus[];
  summary: { nodes: number; healthy: number; unhealthy: number; silent: number; disagreeing: number };
  /** Fleet-wide network programming latency: percentiles of all live nodes' samples together. */
  latency: { count: number; p50Ms: number | null; p99Ms: number | null; windowMs: number | null };
}

function isSilent(n: FleetNode, now: number): boolean {
  return !n.record || now - n.record.publishedAt > n.record.ttlMs;
}

function agreements(nodes: readonly FleetNode[], now: number): Map<string, Agreement> {
  const groups = new Map<string, FleetNode[]>();
  for (const n of nodes) {
    const r = n.record;
    if (!r || isSilent(n, now) || !r.digest || !r.resourceVersions) continue;
    // Opaque resourceVersions: compared for equality only.
    const key = JSON.stringify([r.resourceVersions.services, r.resourceVersions.endpointSlices]);
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  const out = new Map<string, Agreement>();
  for (const group of groups.values()) {
    if (group.length === 1) {
      out.set(group[0].name, 'no-peers');
      continue;
    }
    const votes = new Map<string, number>();
    for (const n of group) votes.set(n.record!.digest!, (votes.get(n.record!.digest!) ?? 0) + 1);
    const top = Math.max(...votes.values());
    const leaders = [...votes.entries()].filter(([, c]) => c === top);
    // A clear majority is the consensus; a tie means nobody can be said to be right.
    const consensus = leaders.length === 1 && top >= 2 ? leaders[0][0] : undefined;
    for (const n of group) out.set(n.name, n.record!.digest === consensus ? 'agrees' : 'disagrees');
  }
  return out;
}

// Percentiles from the buckets when the layout is known (consistent with the fleet figures),
// else what the node computed itself.
function nodeLatency(r: NodeRecord): { count: number; p50Ms: number | null; p99Ms: number | null } {
  if (r.latency.schema !== HISTOGRAM_SCHEMA) return { count: r.latency.count, p50Ms: r.latency.p50Ms, p99Ms: r.latency.p99Ms };
  const s = summarise(r.latency.buckets, r.latency.windowMs);
  return { count: s.count, p50Ms: s.p50Ms ?? null, p99Ms: s.p99Ms ?? null };
}

export function analyzeFleet(nodes: readonly FleetNode[], now: number): FleetView {
  const agree = agreements(nodes, now);
  const live: SparseBuckets[] = [];
  let windowMs: number | null = null;
  const statuses = [...nodes]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n): FleetNodeStatus => {
      const r = n.record;
      const silent = isSilent(n, now);
      if (r && !silent && r.latency.schema === HISTOGRAM_SCHEMA) {
        live.push(r.latency.buckets);
        windowMs = Math.max(windowMs ?? 0, r.latency.windowMs);
      }
      return {
        node: n.name,
        state: silent ? 'silent' : r!.healthy ? 'healthy' : 'unhealthy',
        lastSeenAgeMs: r ? now - r.publishedAt : n.lastSeenAt !== undefined ? now - n.lastSeenAt : null,
        lastSyncAgeMs: r?.lastSync ? now - r.lastSync.at : null,
        lastSyncDurationMs: r?.lastSync ? r.lastSync.durationMs : null,
        agentVersion: r?.agentVersion ?? null,
        digest: r?.digest ?? null,
        agreement: agree.get(n.name) ?? 'unknown',
        resourceVersions: r?.resourceVersions ?? null,
        counts: r?.counts ?? null,
        drift: r?.drift ?? null,
        errors: r?.errors ?? null,
        latency: r ? nodeLatency(r) : null,
        problem: n.problem ?? null,
      };
    });
  const fleet = summarise(mergeBuckets(live), windowMs ?? 0);
  return {
    generatedAt: now,
    nodes: statuses,
    summary: {
      nodes: statuses.length,
      healthy: statuses.filter((s) => s.state === 'healthy').length,
      unhealthy: statuses.filter((s) => s.state === 'unhealthy').length,
      silent: statuses.filter((s) => s.state === 'silent').length,
      disagreeing: statuses.filter((s) => s.agreement === 'disagrees').length,
    },
    latency: { count: fleet.count, p50Ms: fleet.p50Ms ?? null, p99Ms: fleet.p99Ms ?? null, windowMs },
  };
}

/** "850ms", "4.2s", "3m05s", "2h10m", "3d4h". */
export function formatAge(ms: number | null): string {
  if (ms === null) return '-';
  const v = Math.max(0, ms);
  if (v < 1_000) return `${Math.round(v)}ms`;
  if (v < 60_000) return `${(v / 1_000).toFixed(1)}s`;
  const s = Math.floor(v / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3_600)}h`;
}

/** Latency with three significant digits: "0.812ms", "12.4ms", "1.25s". */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1_000) return `${Number(ms.toPrecision(3))}ms`;
  return `${Number((ms / 1_000).toPrecision(3))}s`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The `status --cluster` table; silent nodes are listed, never hidden. */
export function formatFleet(nodes: readonly FleetNode[], now: number): string {
  const view = analyzeFleet(nodes, now);
  if (view.nodes.length === 0) return 'no node has published to this fleet status store\n';
  const rows: string[][] = [
    ['NODE', 'STATE', 'LAST SYNC', 'HEARTBEAT', 'VERSION', 'DIGEST', 'AGREEMENT', 'SERVICES RV', 'SLICES RV', 'DRIFT', 'ERRORS', 'P50', 'P99', 'SAMPLES'],
  ];
  for (const n of view.nodes) {
    rows.push([
      n.node,
      n.state,
      n.lastSyncAgeMs === null ? 'never' : `${formatAge(n.lastSyncAgeMs)} ago`,
      n.lastSeenAgeMs === null ? '-' : `${formatAge(n.lastSeenAgeMs)} ago`,
      n.agentVersion ?? '-',
      n.digest ? n.digest.slice(0, 12) : '-',
      n.agreement,
      // A manifest source has no resourceVersions (''): an empty cell would shift the columns.
      n.resourceVersions?.services || '-',
      n.resourceVersions?.endpointSlices || '-',
      n.drift ? String(n.drift.last) : '-',
      n.errors ? String(n.errors.syncErrors) : '-',
      formatLatency(n.latency?.p50Ms),
      formatLatency(n.latency?.p99Ms),
      n.latency ? String(n.latency.count) : '-',
    ]);
  }
  const s = view.summary;
  const lines = [table(rows), ''];
  lines.push(`${s.nodes} nodes: ${s.healthy} healthy, ${s.unhealthy} unhealthy, ${s.silent} silent; ${s.disagreeing} disagreeing with their peers`);
  const l = view.latency;
  lines.push(
    l.count === 0
      ? 'network programming latency: no samples'
      : `network programming latency (all nodes, last ${formatAge(l.windowMs)}): p50 ${formatLatency(l.p50Ms)}, p99 ${formatLatency(l.p99Ms)} over ${l.count} samples`,
  );
  for (const n of view.nodes) {
    if (n.problem) lines.push(`${n.node}: ${n.problem}`);
    else if (n.errors?.last && n.state !== 'silent') lines.push(`${n.node}: last sync error: ${n.errors.last}`);
  }
  return lines.join('\n') + '\n';
}

/** The `status --cluster --json` document. */
export function fleetJson(nodes: readonly FleetNode[], now: number): FleetView {
  return analyzeFleet(nodes, now);
}
