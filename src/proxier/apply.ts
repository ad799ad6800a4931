// Runs a plan against the kernel, stage by stage, and keeps the applied table equal to what the
// kernel acknowledged. Every operation succeeds or fails on its own; a failure becomes a named
// per-object error and the key is retried at the next sync.
import { SvcFlag, type OpResult, type RealServer, type VirtualServer, type VirtualServerEntry } from '../vocabulary/ipvs.js';
import { type IpvsClient } from '../ipvs/types.js';
import { realKey } from '../vocabulary/ipvs-keys.js';
import { planStages, toRealServer, type AppliedVirtualServer, type IpvsPlan, type PlannedOp } from './diff.js';
import type { ObjectError } from './types.js';
import { isDoubtCode } from '../native/errors.js';
import { messageOf } from '../util/errors.js';

/** Codes that mean the kernel differs from the applied table (someone else changed it). */
function isDrift(op: PlannedOp, code: string): boolean {
  if (code === 'EEXIST') return op.op.op === 'addService' || op.op.op === 'addReal';
  return code === 'ESRCH' || code === 'ENOENT';
}

/** The code of anything thrown by a client (NetlinkError and friends carry `code`). */
export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

export interface ExecuteOutcome {
  writes: number;
  errors: ObjectError[];
  needsVerification: boolean;
  succeeded: PlannedOp[];
  /** Keys whose operations failed: retried next sync. */
  failedKeys: Set<string>;
}

export type NameOf = (vsKey: string, realKey?: string) => string;

/** A virtual server as the applied table keeps it: settings only, HASHED dropped. */
export function appliedFromEntry(entry: VirtualServerEntry): AppliedVirtualServer {
  const { stats: _stats, ...service } = entry.service;
  const clean: VirtualServer = { ...service, flags: service.flags & ~SvcFlag.HASHED };
  const reals = new Map<string, RealServer>();
  for (const r of entry.reals) reals.set(realKey(r), toRealServer(r));
  return { service: clean, reals };
}

function recordSuccess(applied: Map<string, AppliedVirtualServer>, p: PlannedOp): void {
  const op = p.op;
  switch (op.op) {
    case 'addService':
      applied.set(p.vsKey, { service: { ...op.service, flags: op.service.flags & ~SvcFlag.HASHED }, reals: new Map() });
      return;
    case 'updateService': {
      const have = applied.get(p.vsKey);
      if (have) have.service = { ...op.service, flags: op.service.flags & ~SvcFlag.HASHED };
      return;
    }
    case 'deleteService':
      applied.delete(p.vsKey);
      return;
    case 'addReal':
    case 'updateReal':
      // The plan made the op's real server as a kernel-facing copy of its own (diff.ts) and
      // nothing changes it after: kept as it is, not copied again (100,000 in a cold sync).
      applied.get(p.vsKey)?.reals.set(p.realKey ?? realKey(op.real), op.real);
      return;
    case 'deleteReal':
      applied.get(p.vsKey)?.reals.delete(realKey(op.real));
      return;
  }
}

/** Apply ops in one batch; a thrown error fails every op of the batch. */
export async function applyBatch(ipvs: IpvsClient, ops: PlannedOp[]): Promise<OpResult[]> {
  try {
    const results = await ipvs.apply(ops.map((p) => p.op));
    if (results.length !== ops.length) {
      return ops.map(() => ({ ok: false, errno: 5, code: 'EIO', message: `client returned ${results.length} results for ${ops.length} operations` }));
    }
    return results;
  } catch (err) {
    const code = codeOf(err);
    return ops.map(() => ({ ok: false, errno: 0, code, message: messageOf(err) }));
  }
}

/**
 * Operations per call to the client within a stage. The addon batches whatever it is given; a
 * stage of a cold sync (100,000 real servers) is cut so that progress lines can say how far it
 * has got. Each call costs one hop to the addon's thread, nothing per operation.
 */
export const IPVS_APPLY_CHUNK = 8192;

/** Execute the plan's stages in order against `ipvs`, updating `applied` on every acknowledgement. */
export async function executePlan(
  ipvs: IpvsClient,
  plan: IpvsPlan,
  applied: Map<string, AppliedVirtualServer>,
  nameOf: NameOf,
  onStage?: (stage: string) => void,
): Promise<ExecuteOutcome> {
  const out: ExecuteOutcome = { writes: 0, errors: [], needsVerification: false, succeeded: [], failedKeys: new Set() };
  const notCreated = new Set<string>();
  const stages = planStages(plan).filter((s) => s.length > 0);
  for (const [i, stage] of stages.entries()) {
    const title = `IPVS stage ${i + 1} of ${stages.length}`;
    const writtenBefore = out.writes;
    onStage?.(`${title}: ${stage.length} ${stage[0].op.op} operations (${writtenBefore} written before it)`);
    // Real servers of a virtual server whose creation failed would only fail with ESRCH.
    const ops = stage.filter((p) => !(p.op.op === 'addReal' && notCreated.has(p.vsKey)));
    for (const p of stage) if (p.op.op === 'addReal' && notCreated.has(p.vsKey)) out.failedKeys.add(p.vsKey);
    for (let from = 0; from < ops.length; from += IPVS_APPLY_CHUNK) {
      const chunk = ops.length <= IPVS_APPLY_CHUNK ? ops : ops.slice(from, from + IPVS_APPLY_CHUNK);
      await applyChunk(ipvs, chunk, applied, nameOf, notCreated, out);
      const done = from + chunk.length;
      if (done < ops.length) onStage?.(`${title}: ${done} of ${ops.length} ${stage[0].op.op} operations applied (${writtenBefore} written before the stage)`);
    }
  }
  return out;
}

/** One call's worth of a stage: applied, then each result recorded or reported. */
async function applyChunk(
  ipvs: IpvsClient,
  ops: PlannedOp[],
  applied: Map<string, AppliedVirtualServer>,
  nameOf: NameOf,
  notCreated: Set<string>,
  out: ExecuteOutcome,
): Promise<void> {
  const results = await applyBatch(ipvs, ops);
  out.writes += ops.length;
  results.forEach((r, i) => {
    const p = ops[i];
    if (r.ok) {
      recordSuccess(applied, p);
      out.succeeded.push(p);
      return;
    }
    if (p.op.op === 'addService') notCreated.add(p.vsKey);
    out.failedKeys.add(p.vsKey);
    if (isDoubtCode(r.code) || isDrift(p, r.code) || r.errno === 0) out.needsVerification = true;
    out.errors.push({ object: nameOf(p.vsKey, p.realKey), operation: p.op.op, code: r.code, message: r.message });
  });
}
