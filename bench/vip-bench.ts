// The VIP step alone: make N VIPs local on a fresh kube-ipvs0 of the current network namespace
// (run it under `ip netns exec`), as addresses (/32, /128) or as local routes, through the
// addon's batched rtnetlink calls the agent uses. Prints one JSON object:
//
//   node --import tsx bench/vip-bench.ts addresses|routes N [inet|inet6]
//
// IPv4 runs on the link down, as the agent keeps it. IPv6 runs with the link up the way the agent
// brings it up for IPv6 local routes (addrgenmode none: no link-local address, no router
// solicitation), for both forms, so that addresses and routes differ only in the form; the
// addresses carry NODAD as the agent's do.
//
// bindMs and bindCpuMs: the N adds (wall, and this process's CPU, which includes the kernel's
// work done in the calling thread); machineCpuMs: every CPU's busy time (/proc/stat) from the
// first add until the machine is quiet again, which adds the kernel's deferred work (IPv6 address
// completion runs in a workqueue after the add has returned); moreMs: 100 more at N;
// deleteLinkMs: deleting kube-ipvs0 with all of them on it.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Family } from '../src/vocabulary/ipvs.js';
import { openLinks } from '../src/netif/client.js';
import type { AddressOp } from '../src/vocabulary/addresses.js';
import { elapsedMs, round } from './lib/stats.js';

const [form, countArg, familyArg = 'inet'] = process.argv.slice(2);
const count = Number(countArg);
if ((form !== 'addresses' && form !== 'routes') || !(count > 0) || (familyArg !== 'inet' && familyArg !== 'inet6')) {
  process.stderr.write('usage: vip-bench.ts addresses|routes N [inet|inet6]\n');
  process.exit(2);
}
const family: Family = familyArg;

function vip(i: number): string {
  if (family === 'inet6') return `fd00:10:96::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
  return `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

/** Busy and total time of all CPUs so far, in ms (the `cpu` line of /proc/stat, USER_HZ ticks). */
function machineTimes(): { busyMs: number; totalMs: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4];
  return { busyMs: (total - idle) * 10, totalMs: total * 10 };
}

/** Wait until a 500 ms window is at most 5% busy (deferred kernel work done); at most 30 s. */
async function quiet(): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const a = machineTimes();
    await sleep(500);
    const b = machineTimes();
    if (b.busyMs - a.busyMs <= 0.05 * Math.max(1, b.totalMs - a.totalMs)) return;
  }
}

async function main(): Promise<void> {
  const links = await openLinks();
  try {
    const { ifindex } = await links.ensureDummyLink('kube-ipvs0');
    if (family === 'inet6') await links.bringUpQuiet('kube-ipvs0');
    const prefixLen = family === 'inet6' ? 128 : 32;
    const ops = (from: number, n: number): AddressOp[] =>
      Array.from({ length: n }, (_, k) => ({ op: 'add', ifindex, family, address: vip(from + k), prefixLen }));
    const apply = (o: AddressOp[]) => (form === 'routes' ? links.applyRoutes(o) : links.applyAddresses(o));
    const batch = ops(1, count);
    await quiet();
    const machine0 = machineTimes();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const results = await apply(batch);
    const bindMs = elapsedMs(t0);
    const cpu = process.cpuUsage(cpu0);
    await quiet();
    // The bind, its deferred work, and at most 5% of each 500 ms window spent waiting for quiet.
    const machineCpuMs = machineTimes().busyMs - machine0.busyMs;
    const failed = results.filter((r) => !r.ok).length;
    const t1 = process.hrtime.bigint();
    await apply(ops(count + 1, 100));
    const moreMs = elapsedMs(t1);
    const t2 = process.hrtime.bigint();
    await links.deleteLink('kube-ipvs0', 'dummy');
    const deleteLinkMs = elapsedMs(t2);
    const row = {
      form,
      family,
      vips: count,
      failed,
      bindMs: round(bindMs, 1),
      bindCpuMs: round((cpu.user + cpu.system) / 1000, 1),
      bindSystemCpuMs: round(cpu.system / 1000, 1),
      machineCpuMs,
      moreMs: round(moreMs, 1),
      deleteLinkMs: round(deleteLinkMs, 1),
    };
    process.stdout.write(`${JSON.stringify(row)}\n`);
  } finally {
    links.close();
  }
}

await main();
