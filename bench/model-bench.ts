// Model benchmark: the full desired state for 10,000 services x 10 endpoints, and the cost of one
// endpoint change (apply + takeChanges) at 100, 1k and 10k services. The per-change cost must be
// flat in the number of services: target 10k/100 <= 1.5. Writes bench/results/model.json.
// Run: node --import tsx bench/model-bench.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { SourceEvent } from '../src/vocabulary/source.js';
import type { ModelConfig } from '../src/model/config.js';
import { computeFromScratch, ServiceModel } from '../src/model/service-model.js';

const CONFIG: ModelConfig = {
  nodeName: 'bench-node',
  scheduler: 'rr',
  schedulerFlags: [],
  nodePortAddresses: [],
  ipFamilies: ['inet'],
  dummyLinkName: 'kube-ipvs0',
};
const ENDPOINTS = 10;

function ipv4(base: number, i: number): string {
  const n = base + i;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
const CLUSTER_BASE = (10 << 24) | (96 << 16) | 1;
const POD_BASE = (10 << 24) | (128 << 16) | 1;

function benchService(i: number): V1Service {
  return {
    metadata: { namespace: 'bench', name: `svc-${i}`, resourceVersion: '1', creationTimestamp: new Date('2026-01-01T00:00:00Z') },
    spec: {
      type: 'ClusterIP',
      clusterIP: ipv4(CLUSTER_BASE, i),
      clusterIPs: [ipv4(CLUSTER_BASE, i)],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
    },
  };
}

/** The slice of service i; `flip` marks endpoint 0 not ready, so that alternating versions differ. */
function benchSlice(i: number, flip: boolean, version: number): V1EndpointSlice {
  return {
    metadata: { namespace: 'bench', name: `svc-${i}-abcde`, labels: { 'kubernetes.io/service-name': `svc-${i}` }, resourceVersion: String(version) },
    addressType: 'IPv4',
    endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({
      addresses: [ipv4(POD_BASE, i * ENDPOINTS + e)],
      conditions: { ready: !(flip && e === 0), serving: true, terminating: false },
      nodeName: `node-${e % 5}`,
      targetRef: { kind: 'Pod', namespace: 'bench', name: `svc-${i}-pod-${e}` },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

function cluster(n: number): { services: V1Service[]; slices: V1EndpointSlice[]; events: SourceEvent[] } {
  const services = Array.from({ length: n }, (_, i) => benchService(i));
  const slices = Array.from({ length: n }, (_, i) => benchSlice(i, false, 1));
  const events: SourceEvent[] = [
    ...services.map((object): SourceEvent => ({ kind: 'Service', type: 'upsert', object })),
    ...slices.map((object): SourceEvent => ({ kind: 'EndpointSlice', type: 'upsert', object })),
  ];
  return { services, slices, events };
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function fullState(n: number): { applyMs: number; takeMs: number; totalMs: number; cpuMs: number; scratchMs: number; virtualServers: number; reals: number } {
  const c = cluster(n);
  const model = new ServiceModel(CONFIG);
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  model.apply(c.events);
  const applyMs = ms(t0);
  const t1 = process.hrtime.bigint();
  const change = model.takeChanges();
  const takeMs = ms(t1);
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1e3;
  let reals = 0;
  for (const vs of change.state.virtualServers.values()) reals += vs.reals.length;
  const t2 = process.hrtime.bigint();
  computeFromScratch({ config: CONFIG, services: c.services, slices: c.slices, nodeAddresses: [] });
  const scratchMs = ms(t2);
  return { applyMs, takeMs, totalMs: applyMs + takeMs, cpuMs, scratchMs, virtualServers: change.state.virtualServers.size, reals };
}

/** A model holding n services, and a function making one endpoint change and taking it (timed). */
function changer(n: number): () => number {
  const model = new ServiceModel(CONFIG);
  model.apply(cluster(n).events);
  model.takeChanges();
  const flipped = new Array<boolean>(n).fill(false);
  let version = 1;
  let next = 0;
  return () => {
    // Walk the services with a stride so consecutive changes hit different services.
    const i = next;
    next = (next + 7919) % n;
    flipped[i] = !flipped[i];
    const object = benchSlice(i, flipped[i], ++version);
    const t = process.hrtime.bigint();
    model.apply([{ kind: 'EndpointSlice', type: 'upsert', object }]);
    const change = model.takeChanges();
    const elapsed = Number(process.hrtime.bigint() - t) / 1e3;
    if (change.changedVirtualServers.size !== 1) throw new Error(`expected one changed virtual server, got ${change.changedVirtualServers.size}`);
    return elapsed;
  };
}

function main(): void {
  const sizes = [100, 1000, 10000];
  const rounds = 8;
  const perRound = 500;
  const full = fullState(10000);
  console.log(
    `full desired state, 10,000 services x ${ENDPOINTS} endpoints: apply ${full.applyMs.toFixed(1)} ms + take ${full.takeMs.toFixed(1)} ms = ${full.totalMs.toFixed(1)} ms wall, ${full.cpuMs.toFixed(1)} ms CPU (computeFromScratch ${full.scratchMs.toFixed(1)} ms); ${full.virtualServers} virtual servers, ${full.reals} real servers`,
  );

  const changers = new Map(sizes.map((n) => [n, changer(n)]));
  for (const change of changers.values()) for (let i = 0; i < 300; i++) change(); // warm-up: JIT and caches
  const samples = new Map<number, number[]>(sizes.map((n) => [n, []]));
  // Interleave sizes round by round so that drift (GC, CPU frequency, neighbours) hits all alike.
  for (let r = 0; r < rounds; r++) {
    for (const n of sizes) {
      const change = changers.get(n) as () => number;
      const out = samples.get(n) as number[];
      for (let i = 0; i < perRound; i++) out.push(change());
    }
  }
  const perSize: Record<string, { medianUs: number; p90Us: number; samples: number }> = {};
  for (const n of sizes) {
    const xs = samples.get(n) as number[];
    perSize[String(n)] = { medianUs: median(xs), p90Us: percentile(xs, 90), samples: xs.length };
    console.log(
      `one endpoint change at ${String(n).padStart(5)} services: median ${median(xs).toFixed(1)} us, p90 ${percentile(xs, 90).toFixed(1)} us (${xs.length} samples)`,
    );
  }
  const ratio = perSize['10000'].medianUs / perSize['100'].medianUs;
  console.log(`ratio 10k/100: ${ratio.toFixed(2)} (target <= 1.5) ${ratio <= 1.5 ? 'OK' : 'OVER TARGET'}`);

  const results = {
    benchmark: 'model',
    date: new Date().toISOString(),
    node: process.version,
    // Wall times on a shared machine include waiting for the CPU; the load average says how much.
    loadAverage: loadavg(),
    cpus: cpus().length,
    fullState: { services: 10000, endpointsPerService: ENDPOINTS, ...full },
    endpointChange: perSize,
    ratio10kTo100: ratio,
    target: 1.5,
  };
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main();
