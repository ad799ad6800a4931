// Network programming latency as a mergeable histogram. Percentiles cannot be averaged across
// nodes; bucket counts can be added. The sig-scalability SLI is the percentile over all
// programmers' samples, so every node publishes its bucket counts for a recent window and the
// fleet view adds them up before taking p50/p99.
//
// Buckets are logarithmic: bucket i holds [MIN * G^i, MIN * G^(i+1)) ms with G = 2^(1/8), so a
// percentile read at a bucket's geometric middle is within about 4.4 % of the true sample.

/** Identifies the bucket layout in published records; readers skip layouts they do not know. */
export const HISTOGRAM_SCHEMA = 'log2/8@0.1ms';
const MIN_MS = 0.1;
const GROWTH = 2 ** (1 / 8);
/** Index 0 also holds everything below MIN_MS; the last index everything above about 2 days. */
const MAX_INDEX = 255;

export function bucketIndex(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const i = Math.floor(Math.log(ms / MIN_MS) / Math.log(GROWTH));
  return Math.min(MAX_INDEX, Math.max(0, i));
}

/** The value a bucket stands for: its geometric middle. */
export function bucketValue(index: number): number {
  return MIN_MS * GROWTH ** (index + 0.5);
}

/** Sparse bucket counts: [index, count] pairs sorted by index. */
export type SparseBuckets = Array<[number, number]>;

export interface LatencySummary {
  schema: string;
  windowMs: number;
  count: number;
  /** undefined when there is no sample. */
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  buckets: SparseBuckets;
}

export function mergeBuckets(all: ReadonlyArray<SparseBuckets>): SparseBuckets {
  const sum = new Map<number, number>();
  for (const buckets of all) for (const [i, n] of buckets) sum.set(i, (sum.get(i) ?? 0) + n);
  return [...sum.entries()].sort((a, b) => a[0] - b[0]);
}

/** The q-quantile (0 < q <= 1) of the samples counted in `buckets`: the smallest value with rank >= q * count. */
export function quantile(buckets: SparseBuckets, q: number): number | undefined {
  let total = 0;
  for (const [, n] of buckets) total += n;
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [i, n] of buckets) {
    seen += n;
    if (seen >= rank) return bucketValue(i);
  }
  return bucketValue(buckets[buckets.length - 1][0]);
}

export function summarise(buckets: SparseBuckets, windowMs: number): LatencySummary {
  let count = 0;
  for (const [, n] of buckets) count += n;
  return { schema: HISTOGRAM_SCHEMA, windowMs, count, p50Ms: quantile(buckets, 0.5), p99Ms: quantile(buckets, 0.99), buckets };
}

export interface LatencyWindowOptions {
  /** How far back samples count (default 10 minutes). */
  windowMs?: number;
  /** Granularity of expiry (default 1 minute). Memory is at most windowMs / slotMs + 1 slots of 256 counts. */
  slotMs?: number;
}

/** Recent latency samples of one node, in time slots so that old samples expire. */
export class LatencyWindow {
  readonly windowMs: number;
  private readonly slotMs: number;
  private readonly slots: Array<{ id: number; counts: Map<number, number> }> = [];

  constructor(options: LatencyWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 600_000;
    this.slotMs = options.slotMs ?? Math.min(60_000, this.windowMs);
    if (!(this.windowMs > 0 && this.slotMs > 0)) throw new RangeError('windowMs and slotMs must be > 0');
  }

  record(ms: number, at: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const id = Math.floor(at / this.slotMs);
    let slot = this.slots[this.slots.length - 1];
    if (!slot || slot.id < id) {
      slot = { id, counts: new Map() };
      this.slots.push(slot);
    }
    // A sample stamped before the newest slot (late, or a clock step) counts in the newest one.
    const b = bucketIndex(ms);
    slot.counts.set(b, (slot.counts.get(b) ?? 0) + 1);
    this.prune(at);
  }

  summary(now: number): LatencySummary {
    this.prune(now);
    return summarise(mergeBuckets(this.slots.map((s) => [...s.counts.entries()])), this.windowMs);
  }

  private prune(now: number): void {
    const oldest = Math.floor((now - this.windowMs) / this.slotMs);
    while (this.slots.length > 0 && this.slots[0].id < oldest) this.slots.shift();
  }
}
