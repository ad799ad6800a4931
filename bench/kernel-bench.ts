// In-process measurements against the real kernel of the current network namespace (run it under
// `ip netns exec NS`), through the same Proxier, model, iptables and state file as the agent.
//
//   node --import tsx bench/kernel-bench.ts table SERVICES ENDPOINTS OUT.json
//     The namespace already holds the table (programmed by `ipvs-proxy run --once` from the same
//     fixtures). Measures: desired-state computation (7), full read and compare (2), unchanged
//     resync (3), then one-endpoint changes (4) at this size.
//   node --import tsx bench/kernel-bench.ts change SERVICES ENDPOINTS OUT.json
//     A fresh namespace: programs the table first, then one-endpoint changes (4).
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { SourceEvent } from '../src/vocabulary/source.js';
import type { ServiceModel } from '../src/model/service-model.js';
import type { DesiredChange, DesiredState } from '../src/model/types.js';
import { diffState } from '../src/status/diff.js';
import { ownershipFromDesired } from '../src/status/ownership.js';
import type { Proxier } from '../src/proxier/proxier.js';
import { serviceObjects } from './fixtures.js';
import { agentModel, benchSettings, openKernelProxier } from './lib/kernel-deps.js';
import { elapsedMs, median, percentile, round, writeJson } from './lib/stats.js';

const [mode, servicesArg, endpointsArg, out] = process.argv.slice(2);
const services = Number(servicesArg);
const endpoints = Number(endpointsArg);
const CHANGES = Number(process.env.IPVS_PROXY_BENCH_CHANGES ?? 250);
const WARMUP = 20;
const REPEATS = 3;
const benchT0 = process.hrtime.bigint();
/** Progress on stderr (bench/run.sh keeps it in the log), so a slow part shows where it is. */
function progress(what: string): void {
  process.stderr.write(`kernel-bench ${mode} ${services}: ${(elapsedMs(benchT0) / 1000).toFixed(1)} s ${what}\n`);
}

function sliceEvent(i: number, extra: number, annotations?: Record<string, string>): SourceEvent {
  const [, slice] = serviceObjects(i, endpoints, extra, annotations);
  return { kind: 'EndpointSlice', type: 'upsert', object: slice as V1EndpointSlice };
}

function clusterEvents(): SourceEvent[] {
  const events: SourceEvent[] = [];
  for (let i = 0; i < services; i++) {
    const [service, slice] = serviceObjects(i, endpoints);
    events.push({ kind: 'Service', type: 'upsert', object: service as V1Service });
    events.push({ kind: 'EndpointSlice', type: 'upsert', object: slice as V1EndpointSlice });
  }
  return events;
}

function unchanged(state: DesiredState): DesiredChange {
  return { state, changedVirtualServers: new Set(), changedAddresses: new Set(), changedServices: new Set(), triggerTimes: [] };
}

/** Item 7: the full desired state from scratch, as the agent computes it at start. */
function computeDesired(model: ServiceModel): { ms: number; change: DesiredChange } {
  const events = clusterEvents();
  const t = process.hrtime.bigint();
  model.apply(events);
  const change = model.takeChanges();
  return { ms: elapsedMs(t), change };
}

/** Item 4: one endpoint added to one service per change; event to kernel acknowledgement. */
async function endpointChanges(model: ServiceModel, proxier: Proxier): Promise<Record<string, number>> {
  const extra = new Array<number>(services).fill(0);
  let next = 0;
  const latencies: number[] = [];
  const writes: number[] = [];
  for (let k = 0; k < WARMUP + CHANGES; k++) {
    const i = next;
    next = (next + 7919) % services;
    extra[i]++;
    const event = sliceEvent(i, extra[i]);
    const t = process.hrtime.bigint();
    model.apply([event]);
    const result = await proxier.sync(model.takeChanges());
    const ms = elapsedMs(t);
    if (result.errors.length > 0) throw new Error(`change ${k}: ${result.errors[0].object}: ${result.errors[0].message}`);
    if (k < WARMUP) continue;
    latencies.push(ms);
    writes.push(result.kernelWrites);
  }
  return {
    changes: CHANGES,
    p50Ms: round(median(latencies), 3),
    p99Ms: round(percentile(latencies, 99), 3),
    maxMs: round(Math.max(...latencies), 3),
    writesPerChangeMin: Math.min(...writes),
    writesPerChangeMax: Math.max(...writes),
    writesPerChangeMean: round(writes.reduce((a, b) => a + b, 0) / writes.length, 3),
  };
}

async function main(): Promise<void> {
  if ((mode !== 'table' && mode !== 'change') || !(services > 0) || !(endpoints > 0) || !out) {
    throw new Error('usage: kernel-bench.ts table|change SERVICES ENDPOINTS OUT.json');
  }
  const settings = benchSettings();
  const model = agentModel(settings);
  const { proxier, kernel, close } = await openKernelProxier(settings);
  const result: Record<string, unknown> = { mode, services, endpoints };
  try {
    const desired = computeDesired(model);
    result.desiredStateMs = round(desired.ms);
    progress('desired state computed');
    const state = desired.change.state;
    let t = process.hrtime.bigint();
    const start = await proxier.start(state);
    result.startReadMs = round(elapsedMs(t));
    t = process.hrtime.bigint();
    const first = await proxier.sync(desired.change);
    result.firstSync = { ms: round(elapsedMs(t)), writes: first.kernelWrites, startWrites: start.kernelWrites, errors: first.errors.length };
    if (first.errors.length > 0) throw new Error(`first sync: ${first.errors[0].object}: ${first.errors[0].message}`);
    progress('kernel read and first sync done');

    if (mode === 'table') {
      // Item 2: the periodic verification (full kernel read and compare, nothing to repair) and the
      // bare read-and-compare (one dump plus the status diff) on its own.
      const verifyMs: number[] = [];
      const verifyWrites: number[] = [];
      const dumpDiffMs: number[] = [];
      const checkMs: number[] = [];
      for (let r = 0; r < REPEATS; r++) {
        t = process.hrtime.bigint();
        const v = await proxier.verify(state);
        verifyMs.push(elapsedMs(t));
        verifyWrites.push(v.kernelWrites);
        // The agent's periodic verification: the same read, compared in slices beside syncs.
        t = process.hrtime.bigint();
        const c = await proxier.check();
        checkMs.push(elapsedMs(t));
        if (c.drift !== undefined) throw new Error(`the background check found drift: ${c.drift}`);
        t = process.hrtime.bigint();
        const entries = await kernel.ipvs.dump();
        const drift = diffState(state, entries, ownershipFromDesired(state), { includeForeign: false });
        dumpDiffMs.push(elapsedMs(t));
        if (drift.drift) throw new Error('the table read back differs from the desired state');
      }
      progress('verifications done');
      result.verify = { medianMs: round(median(verifyMs)), runsMs: verifyMs.map((x) => round(x)), writes: verifyWrites };
      result.dumpAndDiff = { medianMs: round(median(dumpDiffMs)), runsMs: dumpDiffMs.map((x) => round(x)) };
      result.check = { medianMs: round(median(checkMs)), runsMs: checkMs.map((x) => round(x)) };

      // Item 3: resync with nothing changed, in memory (no kernel read).
      const resyncMs: number[] = [];
      let resyncWrites = 0;
      for (let r = 0; r < 20; r++) {
        t = process.hrtime.bigint();
        const s = await proxier.sync(unchanged(state));
        resyncMs.push(elapsedMs(t));
        resyncWrites += s.kernelWrites;
      }
      result.unchangedResync = { medianMs: round(median(resyncMs), 3), maxMs: round(Math.max(...resyncMs), 3), writes: resyncWrites, runs: resyncMs.length };
    }
    progress('starting endpoint changes');
    result.endpointChange = await endpointChanges(model, proxier);
    progress('endpoint changes done');
  } finally {
    close();
  }
  writeJson(out, result);
  console.log(JSON.stringify(result));
}

await main();
