// What each node publishes to Redis, and under which keys (documented in docs/fleet.md).
// Versioned in the key prefix: a v2 layout would live beside v1 during a rolling upgrade.
import { z } from 'zod';

export const KEY_PREFIX = 'ipvs-proxy:v1';
/** Sorted set: member node name, score the time (ms) of its last publish. Outlives the node keys. */
export const REGISTRY_KEY = `${KEY_PREFIX}:nodes`;

export function nodeKey(nodeName: string): string {
  return `${KEY_PREFIX}:node:${nodeName}`;
}

const latencySchema = z.object({
  schema: z.string(),
  windowMs: z.number(),
  count: z.number().int().nonnegative(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  buckets: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
});

export const nodeRecordSchema = z.object({
  v: z.literal(1),
  node: z.string().min(1),
  agentVersion: z.string(),
  /** When this record was written (ms since the epoch): the heartbeat. */
  publishedAt: z.number(),
  /** How long the key lives without a new heartbeat; older than this means silent. */
  ttlMs: z.number().positive(),
  /** The agent's HealthState verdict at publish time. */
  healthy: z.boolean(),
  /** The last completed sync, null before the first. */
  lastSync: z.object({ at: z.number(), durationMs: z.number() }).nullable(),
  counts: z.object({ virtualServers: z.number(), realServers: z.number(), addresses: z.number() }),
  /** sha256 of the node-independent desired state (see digest.ts), null before the first sync. */
  digest: z.string().nullable(),
  /** The Services and EndpointSlices list/watch resourceVersions that state reflects (opaque). */
  resourceVersions: z.object({ services: z.string(), endpointSlices: z.string() }).nullable(),
  errors: z.object({
    /** Failed syncs since the agent started. */
    syncErrors: z.number().int().nonnegative(),
    /** The latest failure's message (truncated), null once a later sync succeeded. */
    last: z.string().nullable(),
  }),
  drift: z.object({
    /** Kernel objects that differed from the desired state at the last verification. */
    last: z.number().int().nonnegative(),
    /** Since the agent started. */
    total: z.number().int().nonnegative(),
  }),
  latency: latencySchema,
});

export type NodeRecord = z.infer<typeof nodeRecordSchema>;

/** A record that is not valid JSON or not of this layout (another version, or damaged). */
export class FleetRecordError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`fleet record ${key}: ${reason}`);
    this.name = 'FleetRecordError';
  }
}

export function parseNodeRecord(key: string, text: string): NodeRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FleetRecordError(key, `not JSON: ${(err as Error).message}`);
  }
  const parsed = nodeRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FleetRecordError(key, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
