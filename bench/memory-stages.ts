// Where the agent's heap goes at a cold start, stage by stage, on the agent's own code path (the
// manifests source, the model, the Proxier with its state record on disk) with the in-memory
// IPVS and rtnetlink fakes in place of the kernel, so it runs anywhere (no IPVS needed). The
// heap is measured after a full garbage collection at the end of each stage; the fakes' share
// (the kernel's table, which a real kernel keeps outside the process) is measured by dropping
// them at the end and left out of the stages.
//   node --expose-gc --import tsx bench/memory-stages.ts MANIFESTS_DIR OUT.json
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettings } from '../src/config/load.js';
import { FakeIpvs } from '../test/support/fake-ipvs.js';
import type { SourceEvent } from '../src/vocabulary/source.js';
import { ManifestSource } from '../src/manifests/manifest-source.js';
import { FakeLinks } from '../test/support/fake-links.js';
import { systemClock } from '../src/proxier/clock.js';
import { RecordingConntrack } from '../src/proxier/conntrack.js';
import { Proxier } from '../src/proxier/proxier.js';
import { FileStateStore } from '../src/proxier/state-record.js';
import { agentModel } from './lib/kernel-deps.js';
import { round, writeJson } from './lib/stats.js';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) throw new Error('usage: memory-stages.ts MANIFESTS_DIR OUT.json');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const MiB = 1024 * 1024;
const stages: { stage: string; heapMiB: number; growthMiB: number; rssMiB: number; ms: number }[] = [];
let last = 0;
let t = performance.now();
const measure = (stage: string): void => {
  const ms = performance.now() - t;
  gc();
  gc();
  const m = process.memoryUsage();
  const heap = (m.heapUsed + m.external) / MiB;
  stages.push({ stage, heapMiB: round(heap, 1), growthMiB: round(heap - last, 1), rssMiB: round(m.rss / MiB, 1), ms: round(ms, 0) });
  last = heap;
  t = performance.now();
};

measure('modules');
const settings = { ...defaultSettings('bench-node'), logLevel: 'warn' as const, stateDir: mkdtempSync(join(tmpdir(), 'ipvs-proxy-memory-')) };
const source = new ManifestSource({ path: dir, nodeName: settings.nodeName, pollIntervalMs: 3_600_000 });
const model = agentModel(settings);
let pending: SourceEvent[] = [];
source.start({ onEvents: (events) => void (pending = events), onWarning: (m) => process.stderr.write(`${m}\n`) });
await source.synced(600_000);
measure('source: read, parsed, the objects kept (and the events)');
model.apply(pending);
pending = [];
measure('model: objects applied (events released)');
// The Proxier reaches the fake through this holder, so the fake can be dropped at the end and
// its share (the kernel's table) measured as what the heap loses then.
const holder: { inner: FakeIpvs | undefined } = { inner: new FakeIpvs() };
const ipvs = new Proxy({} as FakeIpvs, {
  get: (_target, prop) => {
    const inner = holder.inner as unknown as Record<string | symbol, unknown>;
    const v = inner[prop];
    return typeof v === 'function' ? v.bind(inner) : v;
  },
});
const links = new FakeLinks();
links.addLink('eth0');
links.seedAddress('eth0', '192.168.1.10', 24);
model.setNodeAddresses(await links.listAddresses());
const proxier = new Proxier({
  ipvs,
  links,
  conntrack: new RecordingConntrack(),
  sysctl: { apply: async () => ({ writes: 0, errors: [] }) },
  stateStore: new FileStateStore(settings.stateDir),
  clock: systemClock,
  settings,
});
measure('fake kernel opened');
await proxier.start(model.state());
measure('kernel read (empty table)');
const change = model.takeChanges();
measure('desired state (takeChanges)');
const sync = await proxier.sync(change);
if (process.env.IPVS_PROXY_BENCH_HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.IPVS_PROXY_BENCH_HEAP_SNAPSHOT);
measure("sync: applied table, state record (with the fake kernel's table)");
await source.stop();
// The fake kernel's table lives in this heap (a real kernel keeps it outside the process).
gc();
gc();
const withFake = (process.memoryUsage().heapUsed + process.memoryUsage().external) / MiB;
holder.inner = undefined;
gc();
gc();
const fakeMiB = withFake - (process.memoryUsage().heapUsed + process.memoryUsage().external) / MiB;
void [proxier, model, change, links];
rmSync(settings.stateDir, { recursive: true, force: true });
writeJson(out, {
  services: change.state.virtualServers.size,
  realServers: sync.realServers,
  stages,
  fakeKernelMiB: round(fakeMiB, 1),
  peakRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
});
console.log(JSON.stringify({ stages, fakeKernelMiB: round(fakeMiB, 1) }, null, 1));
