// The VIP step alone: make N IPv4 VIPs local on a fresh kube-ipvs0 (down) of the current network
// namespace (run it under `ip netns exec`), as /32 addresses or as local routes, through the
// addon's batched rtnetlink calls the agent uses. Prints one JSON object:
//
//   node --import tsx bench/vip-bench.ts addresses|routes N
//
// bindMs and bindCpuMs: the N adds (wall, and this process's CPU, which includes the kernel's
// work done in the calling thread); moreMs: 100 more at N; deleteLinkMs: deleting kube-ipvs0
// with all of them on it.
import { openLinks } from '../src/netif/client.js';
import type { AddressOp } from '../src/vocabulary/addresses.js';
import { elapsedMs, round } from './lib/stats.js';

const [form, countArg] = process.argv.slice(2);
const count = Number(countArg);
if ((form !== 'addresses' && form !== 'routes') || !(count > 0)) {
  process.stderr.write('usage: vip-bench.ts addresses|routes N\n');
  process.exit(2);
}

function vip(i: number): string {
  return `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

async function main(): Promise<void> {
  const links = await openLinks();
  try {
    const { ifindex } = await links.ensureDummyLink('kube-ipvs0');
    const ops = (from: number, n: number): AddressOp[] =>
      Array.from({ length: n }, (_, k) => ({ op: 'add', ifindex, family: 'inet', address: vip(from + k), prefixLen: 32 }));
    const apply = (o: AddressOp[]) => (form === 'routes' ? links.applyRoutes(o) : links.applyAddresses(o));
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const results = await apply(ops(1, count));
    const bindMs = elapsedMs(t0);
    const cpu = process.cpuUsage(cpu0);
    const failed = results.filter((r) => !r.ok).length;
    const t1 = process.hrtime.bigint();
    await apply(ops(count + 1, 100));
    const moreMs = elapsedMs(t1);
    const t2 = process.hrtime.bigint();
    await links.deleteLink('kube-ipvs0', 'dummy');
    const deleteLinkMs = elapsedMs(t2);
    process.stdout.write(`${JSON.stringify({ form, vips: count, failed, bindMs: round(bindMs, 1), bindCpuMs: round((cpu.user + cpu.system) / 1000, 1), bindSystemCpuMs: round(cpu.system / 1000, 1), moreMs: round(moreMs, 1), deleteLinkMs: round(deleteLinkMs, 1) })}\n`);
  } finally {
    links.close();
  }
}

await main();
