// Item 5: churn through the Kubernetes source. The Agent runs in this process with default
// settings and a KubeSource against the fixture API server (a child process); the child changes
// one EndpointSlice at a time at a fixed rate, stamping the trigger-time annotation, and the
// agent's own network-programming measurement (trigger time to kernel acknowledgement, what
// kubeproxy_network_programming_duration_seconds observes) is recorded sample by sample.
// Run inside a fresh namespace:  ip netns exec NS node --import tsx bench/churn-bench.ts SERVICES ENDPOINTS RATE SECONDS OUT.json
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '../src/agent/agent.js';
import { createConntrack, createIptables, createNodeSettings, createStateStore, openKernel } from '../src/agent/wiring.js';
import { NullEventRecorder } from '../src/k8s/events.js';
import { KubeSource, loadKubeConfig } from '../src/k8s/kube-source.js';
import { createLogger } from '../src/ops/logger.js';
import { ProxyMetrics } from '../src/ops/metrics.js';
import { systemClock } from '../src/proxier/clock.js';
import { benchSettings } from './lib/kernel-deps.js';
import { median, percentile, round, writeJson } from './lib/stats.js';

const [servicesArg, endpointsArg, rateArg, secondsArg, out] = process.argv.slice(2);
const services = Number(servicesArg);
const endpoints = Number(endpointsArg);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const IDLE_RATE = 4;
const IDLE_SECONDS = 8;

interface Sample {
  at: number;
  ms: number;
}

/** The agent's metrics, plus every network-programming observation kept for exact percentiles. */
class RecordingMetrics extends ProxyMetrics {
  readonly samples: Sample[] = [];
  syncs = 0;
  override networkProgrammed(secondsTaken: number): void {
    this.samples.push({ at: Date.now(), ms: secondsTaken * 1000 });
    super.networkProgrammed(secondsTaken);
  }
  override syncCompleted(secondsTaken: number, at?: number): void {
    this.syncs++;
    super.syncCompleted(secondsTaken, at);
  }
}

/**
 * The agent's pass lines (sync, verify, check, drain), kept from its debug log: which passes ran
 * during the churn and which held the changes, since a p99 is only as good as its explanation.
 */
class PassLog extends Writable {
  readonly passes: { at: number; op: string; ms: number; drift?: string; phasesMs?: Record<string, number> }[] = [];
  constructor() {
    super({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString().split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            const o = JSON.parse(line) as { level?: string; op?: string; message?: string; drift?: string; phasesMs?: Record<string, number> };
            if (o.level === 'warn' || o.level === 'error') process.stderr.write(`${line}\n`);
            // The phases line follows its pass's line.
            const last = this.passes.at(-1);
            if (o.phasesMs && last && last.op === o.op) {
              last.phasesMs = Object.fromEntries(Object.entries(o.phasesMs).map(([k, v]) => [k, round(v, 1)]));
              continue;
            }
            const ms = /, (\d+(?:\.\d+)?) ms/.exec(o.message ?? '');
            if (o.op && PASS_OPS.has(o.op) && ms) this.passes.push({ at: Date.now(), op: o.op, ms: Number(ms[1]), ...(o.drift ? { drift: o.drift } : {}) });
          } catch {
            // not a log line of ours
          }
        }
        done();
      },
    });
  }

  /** Passes from `since` on: counts and total time by kind, the longest ones, drift found. */
  summary(since: number): Record<string, unknown> {
    const inRange = this.passes.filter((p) => p.at >= since);
    const byKind: Record<string, { count: number; totalMs: number }> = {};
    for (const p of inRange) {
      const k = (byKind[p.op] ??= { count: 0, totalMs: 0 });
      k.count++;
      k.totalMs = round(k.totalMs + p.ms, 1);
    }
    const longest = [...inRange]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 6)
      .map((p) => ({ op: p.op, ms: p.ms, endedAtS: round((p.at - since) / 1000, 1), ...(p.phasesMs ? { phasesMs: p.phasesMs } : {}) }));
    return { byKind, longest, drift: inRange.filter((p) => p.drift).map((p) => p.drift) };
  }
}

const PASS_OPS = new Set(['sync', 'verify', 'check', 'drain']);

type ChildMessage = { op: 'ready'; kubeconfig: string } | { op: 'done'; issued: number; lateMs: number; cpuMs: number };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

/** Jiffies of the whole machine from /proc/stat: busy (all but idle and iowait) and total. */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

function summary(xs: readonly Sample[]): Record<string, number> {
  const ms = xs.map((s) => s.ms);
  return { count: ms.length, p50Ms: round(median(ms), 1), p99Ms: round(percentile(ms, 99), 1), maxMs: round(Math.max(...ms), 1) };
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'ipvs-proxy-churn-'));
  const child = fork(join(here, 'lib', 'apiserver-child.ts'), [String(services), String(endpoints), dir], { execArgv: ['--import', 'tsx'] });
  const inbox: ChildMessage[] = [];
  child.on('message', (m: ChildMessage) => inbox.push(m));
  const take = async (op: ChildMessage['op'], timeoutMs: number): Promise<ChildMessage> => {
    if (!(await until(() => inbox.some((m) => m.op === op), timeoutMs))) throw new Error(`fixture API server: no '${op}' within ${timeoutMs} ms`);
    const i = inbox.findIndex((m) => m.op === op);
    return inbox.splice(i, 1)[0];
  };
  const ready = await take('ready', 600_000);
  if (ready.op !== 'ready') throw new Error('unexpected message');

  const settings = benchSettings();
  const kernel = await openKernel(120_000);
  const metrics = new RecordingMetrics();
  const passLog = new PassLog();
  const source = new KubeSource({ kubeconfig: ready.kubeconfig, nodeName: settings.nodeName }, loadKubeConfig(ready.kubeconfig));
  const agent = new Agent({
    settings,
    source,
    events: new NullEventRecorder(),
    logger: createLogger({ level: 'debug', format: 'json', stream: passLog }),
    clock: systemClock,
    ipvs: kernel.ipvs,
    links: kernel.links,
    reader: kernel.reader,
    iptables: createIptables(settings, undefined, kernel.sets),
    conntrack: createConntrack(),
    sysctl: createNodeSettings(settings, false),
    stateStore: createStateStore(settings),
    metrics,
    syncTimeoutMs: 600_000,
  });
  // When each background check (the periodic whole-table read beside the syncs) ran.
  const checks: { start: number; end?: number }[] = [];
  const check = agent.proxier.check.bind(agent.proxier);
  agent.proxier.check = async () => {
    const c: { start: number; end?: number } = { start: Date.now() };
    checks.push(c);
    try {
      return await check();
    } finally {
      c.end = Date.now();
    }
  };
  const result: Record<string, unknown> = { services, endpoints, rate, seconds, settings: 'defaults (min-sync-period 0s, sync-period 30s)' };
  try {
    let t = Date.now();
    await agent.run();
    // The start pass (kernel read) is not a sync to the metrics: the first one is the first full sync.
    if (!(await until(() => metrics.syncs >= 1, 600_000))) throw new Error('the first sync did not finish');
    result.startToFirstSyncMs = Date.now() - t;

    // Idle: single changes a quarter second apart; the reference for the churn latency.
    child.send({ op: 'run', rate: IDLE_RATE, seconds: IDLE_SECONDS });
    const idleDone = await take('done', 120_000);
    if (idleDone.op !== 'done') throw new Error('unexpected message');
    await until(() => metrics.samples.length >= idleDone.issued, 10_000);
    const idle = metrics.samples.splice(0);
    result.idle = { issued: idleDone.issued, ...summary(idle) };

    // Churn.
    const rssBefore = process.memoryUsage().rss;
    const cpuBefore = process.cpuUsage();
    const machineBefore = machineJiffies();
    t = Date.now();
    child.send({ op: 'run', rate, seconds });
    const churnDone = await take('done', (seconds + 120) * 1000);
    if (churnDone.op !== 'done') throw new Error('unexpected message');
    const issuedAt = Date.now();
    // Where the CPU went while the changes were issued: the agent (this process: its event loop,
    // the addon's threads and the kernel work they do), the fixture API server, the machine.
    const agentCpu = process.cpuUsage(cpuBefore);
    const machineAfter = machineJiffies();
    const churnS = (issuedAt - t) / 1000;
    const cpu = {
      cpus: cpus().length,
      agentS: round((agentCpu.user + agentCpu.system) / 1e6, 1),
      agentSystemS: round(agentCpu.system / 1e6, 1),
      apiServerS: round(churnDone.cpuMs / 1000, 1),
      machineBusyPct: round((100 * (machineAfter.busy - machineBefore.busy)) / Math.max(1, machineAfter.total - machineBefore.total), 1),
      seconds: round(churnS, 1),
    };
    const caughtUp = await until(() => metrics.samples.length >= churnDone.issued, 120_000);
    const churn = metrics.samples.splice(0);
    const windows: Record<string, unknown>[] = [];
    for (let w = 0; w * 10 < seconds; w++) {
      const from = t + w * 10_000;
      const to = from + 10_000;
      const inWindow = churn.filter((s) => s.at >= from && s.at < to);
      // Whether the background check (the periodic whole-table read) ran during the window.
      const check = checks.some((c) => c.start < to && (c.end ?? Infinity) >= from);
      if (inWindow.length > 0) windows.push({ fromS: w * 10, ...summary(inWindow), check });
    }
    result.churn = {
      issued: churnDone.issued,
      generatorLateMaxMs: churnDone.lateMs,
      programmed: churn.length,
      caughtUp,
      drainAfterLastChangeMs: caughtUp ? Math.max(0, (churn.at(-1)?.at ?? issuedAt) - issuedAt) : undefined,
      ...summary(churn),
      windows,
      syncs: metrics.syncs,
      passes: passLog.summary(t),
      cpu,
      checks: checks
        .filter((c) => (c.end ?? Infinity) >= t)
        .map((c) => ({ startS: round((c.start - t) / 1000, 1), ...(c.end ? { endS: round((c.end - t) / 1000, 1) } : { running: true }) })),
      rssMiB: round(process.memoryUsage().rss / 2 ** 20, 1),
      rssBeforeMiB: round(rssBefore / 2 ** 20, 1),
    };
  } finally {
    await agent.stop();
    kernel.close();
    child.send({ op: 'stop' });
  }
  writeJson(out, result);
  console.log(JSON.stringify(result));
}

await main();
process.exit(0);
