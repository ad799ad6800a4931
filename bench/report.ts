// Turns the per-step results of bench/run.sh into bench/results/latest.json (one object per
// measurement) and bench/results/latest.md (the machine, the table, the notes).
//   node --import tsx bench/report.ts RESULTS_DIR OUT_DIR
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { round, writeJson } from './lib/stats.js';
import { vipModeRows, type VipModes } from './lib/vip-rows.js';

export interface Measurement {
  name: string;
  value: number;
  unit: string;
  peer: string | null;
  peerValue: number | null;
  /** peerValue / value for times where lower is better (a speedup); otherwise as `target` says. */
  ratio: number | null;
  target: string | null;
  /** null: reported for information, no target. */
  met: boolean | null;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- step files are our own output, read back

const [resDir, outDir] = process.argv.slice(2);
if (!resDir || !outDir) throw new Error('usage: report.ts RESULTS_DIR OUT_DIR');
const unreadable: string[] = [];
const read = (name: string): Json | undefined => {
  const p = join(resDir, `${name}.json`);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Json;
  } catch {
    unreadable.push(`${name}.json`);
    return undefined;
  }
};
const machine = read('machine') ?? {};
const cold = read('cold');
const readBack = read('read');
const table = read('table');
const memory = read('memory');
const memoryApi = read('memory-api');
const coldApi = read('cold-api');
const churn = read('churn');
const addon = read('addon');
const model = read('model');
const startup = read('startup');
const memoryStages = read('memory-stages');
const vipModes = read('vip-modes');
const changes: Record<string, Json | undefined> = { '100': read('change-100')?.endpointChange, '1000': read('change-1000')?.endpointChange };
if (table) changes[String(table.services)] = table.endpointChange;

const out: Measurement[] = [];
const add = (m: Omit<Measurement, 'ratio'> & { ratio?: number | null }): void => {
  out.push({
    ...m,
    value: round(m.value, 3),
    peerValue: m.peerValue === null ? null : round(m.peerValue, 3),
    ratio: m.ratio === undefined || m.ratio === null ? null : round(m.ratio, 3),
  });
};
const speedup = (value: number, peer: number): number => peer / value;

if (cold) {
  add({
    name: 'cold sync T (agent summary line)',
    value: cold.syncMs,
    unit: 'ms',
    peer: 'ipvsadm -R + ip -batch',
    peerValue: cold.peerMs,
    ratio: speedup(cold.syncMs, cold.peerMs),
    target: '>= 10x faster',
    met: speedup(cold.syncMs, cold.peerMs) >= 10,
  });
  add({
    name: 'start to synced from manifests: agent process wall time (start-up, reading, model, sync, check)',
    value: cold.agentWallMs,
    unit: 'ms',
    peer: 'ipvsadm -R + ip -batch',
    peerValue: cold.peerMs,
    ratio: speedup(cold.agentWallMs, cold.peerMs),
    target: '>= 3x faster',
    met: speedup(cold.agentWallMs, cold.peerMs) >= 3,
  });
  if (coldApi) {
    add({
      name: 'start to synced from the fixture API server (list + watch through the client): process wall time',
      value: coldApi.agentWallMs,
      unit: 'ms',
      peer: 'ipvsadm -R + ip -batch',
      peerValue: cold.peerMs,
      ratio: speedup(coldApi.agentWallMs, cold.peerMs),
      target: '>= 3x faster',
      met: speedup(coldApi.agentWallMs, cold.peerMs) >= 3,
    });
  }
  add({
    name: 'cold sync kernel writes',
    value: cold.kernelWrites,
    unit: 'writes',
    peer: 'ipvsadm -R lines + ip -batch lines',
    peerValue: cold.virtualServers + cold.realServers + cold.addresses,
    ratio: null,
    target: null,
    met: null,
  });
}
if (table && readBack) {
  add({
    name: 'full read and compare (Proxier.verify, nothing to repair)',
    value: table.verify.medianMs,
    unit: 'ms',
    peer: 'ipvsadm -Sn',
    peerValue: readBack.ipvsadmSaveMs,
    ratio: speedup(table.verify.medianMs, readBack.ipvsadmSaveMs),
    target: 'faster (ratio > 1)',
    met: table.verify.medianMs < readBack.ipvsadmSaveMs,
  });
  if (table.check)
    add({
      name: 'periodic verification as the agent runs it (Proxier.check: read beside syncs, compared in slices)',
      value: table.check.medianMs,
      unit: 'ms',
      peer: 'ipvsadm -Sn',
      peerValue: readBack.ipvsadmSaveMs,
      ratio: speedup(table.check.medianMs, readBack.ipvsadmSaveMs),
      target: 'faster (ratio > 1)',
      met: table.check.medianMs < readBack.ipvsadmSaveMs,
    });
  add({
    name: 'read and compare only (IPVS dump + status diff)',
    value: table.dumpAndDiff.medianMs,
    unit: 'ms',
    peer: 'ipvsadm -Sn',
    peerValue: readBack.ipvsadmSaveMs,
    ratio: speedup(table.dumpAndDiff.medianMs, readBack.ipvsadmSaveMs),
    target: 'faster (ratio > 1)',
    met: table.dumpAndDiff.medianMs < readBack.ipvsadmSaveMs,
  });
}
if (table) {
  add({
    name: 'unchanged resync kernel writes (20 passes)',
    value: table.unchangedResync.writes,
    unit: 'writes',
    peer: null,
    peerValue: null,
    target: '0',
    met: table.unchangedResync.writes === 0,
  });
  if (cold) {
    const share = table.unchangedResync.medianMs / cold.syncMs;
    add({
      name: 'unchanged resync time (median of 20), ratio = share of cold sync T',
      value: table.unchangedResync.medianMs,
      unit: 'ms',
      peer: 'cold sync T',
      peerValue: cold.syncMs,
      ratio: share,
      target: '< 0.05 of cold sync',
      met: share < 0.05,
    });
  }
  add({
    name: 'restart: first full-diff sync over the agent-programmed table, kernel writes',
    value: table.firstSync.writes + table.firstSync.startWrites,
    unit: 'writes',
    peer: null,
    peerValue: null,
    target: '0',
    met: table.firstSync.writes + table.firstSync.startWrites === 0,
  });
}
for (const [n, c] of Object.entries(changes)) {
  if (!c) continue;
  add({
    name: `one endpoint added at ${n} services: kernel writes per change (${c.changes} changes, min ${c.writesPerChangeMin}, max ${c.writesPerChangeMax})`,
    value: c.writesPerChangeMean,
    unit: 'writes',
    peer: null,
    peerValue: null,
    target: '1',
    met: c.writesPerChangeMin === 1 && c.writesPerChangeMax === 1,
  });
  add({
    name: `one endpoint added at ${n} services: event to kernel ack p50`,
    value: c.p50Ms,
    unit: 'ms',
    peer: null,
    peerValue: null,
    target: null,
    met: null,
  });
  add({
    name: `one endpoint added at ${n} services: event to kernel ack p99`,
    value: c.p99Ms,
    unit: 'ms',
    peer: null,
    peerValue: null,
    target: null,
    met: null,
  });
}
const big = table ? changes[String(table.services)] : undefined;
if (big && changes['100']) {
  for (const p of ['p50Ms', 'p99Ms']) {
    const r = big[p] / changes['100'][p];
    add({
      name: `one endpoint change ${p.slice(0, 3)}: ${table?.services} services / 100 services`,
      value: r,
      unit: 'ratio',
      peer: null,
      peerValue: null,
      ratio: r,
      target: '<= 1.5',
      met: r <= 1.5,
    });
  }
}
if (churn?.churn && churn.idle) {
  const c = churn.churn;
  const r = c.p99Ms / churn.idle.p50Ms;
  add({
    name: `churn ${churn.rate}/s for ${churn.seconds} s at ${churn.services} services: p99 trigger-to-kernel (peer = idle p50)`,
    value: c.p99Ms,
    unit: 'ms',
    peer: 'idle single change p50, same path',
    peerValue: churn.idle.p50Ms,
    ratio: r,
    target: '<= 3x idle',
    met: r <= 3,
  });
  add({ name: 'churn p50 trigger-to-kernel', value: c.p50Ms, unit: 'ms', peer: 'idle p99', peerValue: churn.idle.p99Ms, ratio: null, target: null, met: null });
  const windows = c.windows as Json[];
  const lastP99 = windows.at(-1)?.p99Ms ?? 0;
  const firstP99 = windows[0]?.p99Ms ?? 0;
  const backlogOk = c.caughtUp && c.programmed >= c.issued && (c.drainAfterLastChangeMs ?? Infinity) < 5 * Math.max(churn.idle.p99Ms, 100);
  add({
    name: `churn backlog: changes programmed of ${c.issued} issued; drain after the last change ${c.drainAfterLastChangeMs ?? 'n/a'} ms; p99 first vs last 10 s window ${firstP99} / ${lastP99} ms`,
    value: c.programmed,
    unit: 'changes',
    peer: 'issued',
    peerValue: c.issued,
    ratio: c.programmed / c.issued,
    target: 'all programmed, no growing backlog',
    met: backlogOk,
  });
}
if (vipModes) for (const row of vipModeRows(vipModes as VipModes)) add(row);
for (const [m, source] of [
  [memory, 'the manifests'],
  [memoryApi, 'the fixture API server'],
] as const) {
  if (!m) continue;
  const peak = m.vmHwmKiB / 1024;
  const steady = m.vmRssEndKiB / 1024;
  add({
    name: `agent peak RSS (VmHWM), long-running on ${source}`,
    value: peak,
    unit: 'MiB',
    peer: null,
    peerValue: null,
    target: '<= 200 MiB',
    met: peak <= 200,
  });
  add({
    name: `agent steady RSS on ${source} (VmRSS ${m.steadySeconds} s after the first sync)`,
    value: steady,
    unit: 'MiB',
    peer: null,
    peerValue: null,
    target: '<= 150 MiB',
    met: steady <= 150,
  });
}
if (churn?.churn?.cpu && churn.churn.programmed > 0) {
  const perThousand = (churn.churn.cpu.agentS / churn.churn.issued) * 1000;
  add({
    name: `churn: agent CPU per 1,000 endpoint changes at ${churn.services} services (${churn.churn.cpu.agentS} CPU-s for ${churn.churn.issued} changes)`,
    value: perThousand,
    unit: 'CPU-s',
    peer: null,
    peerValue: null,
    target: '<= 3.3',
    met: perThousand <= 3.3,
  });
}
if (table) {
  add({
    name: 'full desired-state computation (ServiceModel.apply + takeChanges)',
    value: table.desiredStateMs,
    unit: 'ms',
    peer: null,
    peerValue: null,
    target: null,
    met: null,
  });
  if (cold) {
    add({
      name: 'desired-state computation as a share of the cold sync (computation / (computation + T))',
      value: table.desiredStateMs / (table.desiredStateMs + cold.syncMs),
      unit: 'fraction',
      peer: null,
      peerValue: null,
      target: null,
      met: null,
    });
  }
}
if (startup) {
  for (const [key, what] of [
    ['statusMs', '`ipvs-proxy status` on a 3 x 2 table'],
    ['versionMs', '`ipvs-proxy --version`'],
    ['helpMs', '`ipvs-proxy --help`'],
  ] as const) {
    const ms = startup[key] as number;
    add({
      name: `command start-up: ${what}, median of ${startup.runs} runs`,
      value: ms,
      unit: 'ms',
      peer: 'node -e 0',
      peerValue: startup.nodeMs,
      ratio: speedup(ms, startup.nodeMs),
      target: '<= 2x node -e 0',
      met: ms <= 2 * startup.nodeMs,
    });
  }
}
if (addon) {
  add({
    name: `addon: program ${addon.services} x ${addon.realsPerService} (apply)`,
    value: addon.addonApplyMs,
    unit: 'ms',
    peer: 'ipvsadm -R',
    peerValue: addon.ipvsadmRestoreMs,
    ratio: speedup(addon.addonApplyMs, addon.ipvsadmRestoreMs),
    target: '>= 10x faster',
    met: addon.ipvsadmRestoreMs / addon.addonApplyMs >= 10,
  });
  add({
    name: `addon: dump the whole table${addon.ipvsadmSaveComplete === false ? ` (ipvsadm -Sn printed only ${addon.ipvsadmSaveLines} of ${addon.operations} lines)` : ''}`,
    value: addon.addonDumpMs,
    unit: 'ms',
    peer: 'ipvsadm -Sn',
    peerValue: addon.ipvsadmSaveMs,
    ratio: speedup(addon.addonDumpMs, addon.ipvsadmSaveMs),
    target: 'faster (ratio > 1)',
    met: addon.addonDumpMs < addon.ipvsadmSaveMs,
  });
}
if (model) {
  add({
    name: 'model bench: full desired state 10,000 x 10 (apply + take)',
    value: model.fullState.totalMs,
    unit: 'ms',
    peer: null,
    peerValue: null,
    target: null,
    met: null,
  });
  for (const [n, c] of Object.entries(model.endpointChange as Record<string, Json>)) {
    add({
      name: `model bench: one endpoint change at ${n} services (median, model only)`,
      value: c.medianUs,
      unit: 'us',
      peer: null,
      peerValue: null,
      target: null,
      met: null,
    });
  }
  add({
    name: 'model bench: change cost 10k / 100 (median)',
    value: model.ratio10kTo100,
    unit: 'ratio',
    peer: null,
    peerValue: null,
    ratio: model.ratio10kTo100,
    target: '<= 1.5',
    met: model.ratio10kTo100 <= 1.5,
  });
}

const fmt = (x: number | null): string => (x === null ? '' : Number.isInteger(x) ? String(x) : x.toFixed(x < 1 ? 3 : 1));
const lines: string[] = [];
lines.push('# ipvs-proxy benchmark (`make bench`)', '');
lines.push(
  `Run ${machine.started ?? '?'} · kernel ${machine.kernel ?? '?'} · ${machine.inVm ? 'inside the qemu VM (TCG software emulation)' : 'directly on the host'} · ${machine.cpus ?? '?'} vCPUs, ${machine.memMiB ?? '?'} MiB · ${machine.cpuModel ?? ''} · node ${machine.node ?? '?'} · ${machine.ipvsadm ?? ''}`,
);
lines.push(`Load average: host ${machine.hostLoad ?? 'not given'}; guest at start ${machine.guestLoadAtStart ?? '?'}.`, '');
if (machine.inVm) {
  lines.push(
    '**Absolute times are emulated** (qemu TCG, no KVM) and several times slower than native; the host was shared with other VMs. The ratios, measured side by side in one run and each peer in its own fresh network namespace of the same VM, are what carry over.',
    '',
  );
}
lines.push(
  `Scale: ${machine.services ?? '?'} ClusterIP services x ${machine.endpoints ?? '?'} endpoints unless a row says otherwise. Ratio = peer / ours for times (a speedup) unless the row says it is a share or a ratio of sizes.`,
  '',
);
lines.push('| measurement | value | unit | peer | peer value | ratio | target | met |', '|---|---:|---|---|---:|---:|---|---|');
for (const m of out)
  lines.push(
    `| ${m.name} | ${fmt(m.value)} | ${m.unit} | ${m.peer ?? ''} | ${fmt(m.peerValue)} | ${fmt(m.ratio)} | ${m.target ?? ''} | ${m.met === null ? '' : m.met ? 'yes' : '**no**'} |`,
  );
lines.push('');
lines.push('## How each figure was taken', '');
lines.push(
  '- Cold sync: `ip netns exec NS node bin/ipvs-proxy.js run --once --manifests DIR` into an empty namespace (IPVS, kube-ipvs0 VIPs, iptables, sysctls); T is from its `synced:` line; the wall time is `date +%s%N` around the process. The peer, in another fresh namespace with kube-ipvs0 created first: `ipvsadm -R` then `ip -batch` on the same table, `date +%s%N` around both.',
);
lines.push(
  "- Full read and compare: in process in the agent's namespace after the cold sync (bench/kernel-bench.ts): `Proxier.verify()` (IPVS dump, address dump, adoption, node settings check, full diff; nothing to repair) and the bare dump + `diffState`, median of 3; the peer is `ip netns exec NS ipvsadm -Sn` on the same table (includes one process start).",
);
lines.push(
  '- Command start-up: in a fresh namespace holding 3 services x 2 real servers (ipvsadm), `ip netns exec NS node -e 0`, `node bin/ipvs-proxy.js status`, `--version` and `--help`, 7 rounds taking each in turn after one warm-up status, `date +%s%N` around each process; the median of each.',
);
lines.push('- Unchanged resync: `Proxier.sync()` with an empty DesiredChange after a full sync, 20 passes, no kernel read.');
lines.push(
  '- One endpoint added: `ServiceModel.apply(slice event)` -> `takeChanges()` -> `Proxier.sync()` with real kernel handles (iptables, state file included, as in the agent), timed until the sync resolves; 20 warm-up changes, then the measured ones, each on a different service. 100 and 1,000 in fresh namespaces; the full size on the agent-programmed table.',
);
lines.push(
  '- Churn: the Agent in process with default settings and a KubeSource against the fixture API server in a child process; the child changes one EndpointSlice at a time at the rate, stamping `endpoints.kubernetes.io/last-change-trigger-time`; latency = what the agent observes into kubeproxy_network_programming_duration_seconds (trigger time to the end of the sync that programmed it), every sample kept. Idle reference: single changes 250 ms apart through the same path before the churn.',
);
lines.push(
  "- Memory: `ipvs-proxy run --manifests`, then `ipvs-proxy run --kubeconfig` against the fixture API server (test/fixtures/apiserver, serving the same table from inside the agent's namespace), each long-running in a fresh namespace; /proc/PID/status sampled every 0.5 s; VmHWM is the peak, VmRSS at the end of the steady window is the steady figure.",
);
lines.push(
  '- Start to synced from the API server: `ipvs-proxy run --once --kubeconfig` in a fresh namespace where the fixture API server (bench/lib/apiserver-child.ts) serves the same 10k x 10 table; list and watch go through @kubernetes/client-node as in a cluster; `date +%s%N` around the agent process.',
);
lines.push(
  "- VIP modes (bench/vip-modes.sh, usually with the instruction-counted guest clock, one vCPU): `run --once --vip-mode MODE` per mode in a fresh namespace, T from its `synced:` line and `date +%s%N` around the process; then the VIP step alone (bench/vip-bench.ts): N VIPs in one batched addon call on a fresh kube-ipvs0, as addresses or as local routes, IPv4 on the link down, IPv6 on the link up with addrgenmode none; wall, the process's CPU, and every CPU's busy time from /proc/stat until the machine is quiet again; 100 more at N; deleting the link.",
);
lines.push('- Addon and model rows: bench/addon-bench.ts and bench/model-bench.ts, run unchanged in the same VM run.');
const notes: string[] = [];
if (typeof machine.services === 'number' && machine.services < 10_000) {
  notes.push(
    `This run is at ${machine.services} services, not the issue's 10,000: a reduced-scale run (IPVS_PROXY_BENCH_SERVICES). Targets that compare sizes or peers still apply; absolute times do not stand for 10k.`,
  );
}
const end = read('end');
if (end) notes.push(`The whole run took ${end.elapsedS} s inside the VM; guest load at the end ${end.guestLoadAtEnd}.`);
else notes.push('The run did not reach its end (cut short by the VM time limit or a failure): rows of the steps that did not finish are missing.');
const missing = [
  'startup',
  'cold',
  'cold-api',
  'read',
  'table',
  'change-100',
  'change-1000',
  'memory',
  'memory-api',
  'churn',
  'addon',
  'model',
  'vip-modes',
].filter((n) => !existsSync(join(resDir, `${n}.json`)));
if (missing.length > 0) notes.push(`Steps without results (failed or not reached): ${missing.join(', ')}.`);
if (unreadable.length > 0) notes.push(`Unreadable step files: ${unreadable.join(', ')}.`);
if (churn?.churn?.passes) {
  const p = churn.churn.passes as Json;
  const kinds = Object.entries(p.byKind as Record<string, Json>)
    .map(([k, v]) => `${k} ${v.count} (${v.totalMs} ms)`)
    .join(', ');
  const phases = (x: Json): string =>
    x.phasesMs
      ? ` (${Object.entries(x.phasesMs as Record<string, number>)
          .filter(([, v]) => v >= 1)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`
      : '';
  const longest = (p.longest as Json[]).map((x) => `${x.op} ${x.ms} ms ending at ${x.endedAtS} s${phases(x)}`).join('; ');
  const drift = (p.drift as string[]).length > 0 ? `; drift found by checks: ${(p.drift as string[]).join('; ')}` : '; no check found drift';
  notes.push(`Churn passes by kind (count, total time): ${kinds}; the longest: ${longest}${drift}.`);
}
if (churn?.churn)
  notes.push(
    `Churn windows (10 s each, p99 ms / count${churn.churn.checks ? ', * = the background check ran in it' : ''}): ${(churn.churn.windows as Json[]).map((w) => `${w.fromS}s${w.check ? '*' : ''} ${w.p99Ms}/${w.count}`).join(', ')}; ${churn.churn.syncs} sync passes in all; RSS after churn ${churn.churn.rssMiB} MiB; first sync ${churn.startToFirstSyncMs} ms after start.`,
  );
if (churn?.churn?.cpu) {
  const c = churn.churn.cpu as Json;
  const checks = ((churn.churn.checks ?? []) as Json[]).map((x) => `${x.startS} to ${x.running ? 'after the end' : `${x.endS} s`}`).join(', ');
  notes.push(
    `Churn CPU over its ${c.seconds} s (${c.cpus} CPUs): the agent ${c.agentS} s (of it in the kernel ${c.agentSystemS} s), the fixture API server ${c.apiServerS} s; the machine was busy ${c.machineBusyPct}% of the time${checks ? `; background checks from ${checks}` : ''}.`,
  );
}
if (memory)
  notes.push(
    `Memory run on the manifests: first sync ${memory.startToFirstSyncMs} ms after start; ${memory.verifyPasses} verification passes in the steady window.`,
  );
if (memoryApi)
  notes.push(
    `Memory run on the fixture API server (in the agent's namespace): first sync ${memoryApi.startToFirstSyncMs} ms after start; ${memoryApi.verifyPasses} verification passes in the steady window.`,
  );
if (cold) notes.push(`Peer split: ipvsadm -R ${cold.ipvsadmRestoreMs} ms, ip -batch ${cold.ipBatchMs} ms.`);
if (memoryStages) {
  const parts = (memoryStages.stages as Json[])
    .map((s) => `${s.stage} ${s.growthMiB >= 0 ? '+' : ''}${s.growthMiB} MiB (heap ${s.heapMiB}, RSS ${s.rssMiB})`)
    .join('; ');
  notes.push(
    `Heap by stage of a cold start at ${memoryStages.services} virtual servers (bench/memory-stages.ts: the agent's source, model and Proxier with the in-memory IPVS fake, heap after a full GC at the end of each stage): ${parts}; of the last, the fake kernel's table (kept outside the process by a real kernel) ${memoryStages.fakeKernelMiB} MiB, measured by dropping it; the agent's own heap at the end ${Math.round(((memoryStages.stages as Json[]).at(-1)?.heapMiB ?? 0) - memoryStages.fakeKernelMiB)} MiB; peak RSS ${memoryStages.peakRssMiB} MiB (fake included).`,
  );
}
if (cold?.startPhasesMs) {
  const names: Record<string, string> = {
    moduleLoading: 'node and module loading',
    setup: 'settings, kernel handles, source set-up',
    sources: 'reading/listing and parsing (model apply inside)',
    modelApply: 'of it the model apply',
    kernelRead: 'kernel read (IPVS, addresses, record)',
    desiredState: 'desired state (model)',
    sync: 'the sync T (claim record, programming, closing record)',
    check: 'the closing check (dump and compare)',
    total: 'to the summary line, by the agent clock',
  };
  for (const [run, label] of [
    [cold, 'from manifests'],
    [coldApi, 'from the fixture API server'],
  ] as const) {
    if (!run?.startPhasesMs) continue;
    const parts = Object.entries(run.startPhasesMs as Record<string, number>)
      .map(([p, ms]) => `${names[p] ?? p} ${Math.round(ms)} ms`)
      .join(', ');
    const inner = run.phasesMs
      ? `; within the sync: ${Object.entries(run.phasesMs as Record<string, number>)
          .map(([p, ms]) => `${p} ${Math.round(ms)} ms`)
          .join(', ')}`
      : '';
    notes.push(
      `Where the cold start's process wall time ${label} (${run.agentWallMs} ms around the process) went, from the agent's start phases line: ${parts}${inner}.`,
    );
  }
}
if (cold?.phasesMs) {
  const phases = Object.entries(cold.phasesMs as Record<string, number>)
    .map(([p, ms]) => `${p} ${Math.round(ms)} ms`)
    .join(', ');
  notes.push(`Where the cold sync's T went (the agent's own phase timings; IPVS, addresses and iptables run side by side, so they overlap): ${phases}.`);
}
for (const [label, name] of [
  ['cold sync (`run --once`)', 'profile-once'],
  ['kernel-bench table run (verify, resync, endpoint changes)', 'profile-change'],
] as const) {
  const p = read(name);
  if (!p) continue;
  notes.push(
    `CPU profile of the ${label}, ${p.totalMs} ms profiled; top self time by file: ${(p.files as Json[]).map((f) => `${f.name} ${f.percent}%`).join(', ')}; by function: ${(
      p.functions as Json[]
    )
      .slice(0, 8)
      .map((f) => `${f.name} ${f.percent}%`)
      .join(', ')}.`,
  );
}
if (notes.length > 0) lines.push('', '## Details', '', ...notes.map((n) => `- ${n}`));
lines.push('');

writeJson(join(outDir, 'latest.json'), { machine, measurements: out });
writeFileSync(join(outDir, 'latest.md'), lines.join('\n'));
