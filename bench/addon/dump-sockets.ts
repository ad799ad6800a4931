// Probe: apply N x K through the addon, then time dump() with 1, 2 and 4 dump sockets against ipvsadm -Sn.
// test/vm/run.sh -- node --import tsx bench/addon/dump-sockets.ts
import { openIpvs } from '../../src/ipvs/client.js';
import { createNetns } from '../../test/kernel/helpers/netns.js';
import { addOps, prepareRoutes } from '../../test/kernel/ipvs-fixtures.js';
const N = 1000, K = 10;
const t: any[] = [];
for (let i = 0; i < N; i++) t.push({ service: { family: 'inet', protocol: 'TCP', address: `10.96.${i >> 8}.${i & 255}`, port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 }, reals: Array.from({ length: K }, (_, k) => ({ family: 'inet', address: `10.${100 + k}.${i >> 8}.${i & 255}`, port: 8080, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 })) });
const ns = await createNetns('perf'); await prepareRoutes(ns);
let c = await openIpvs({ netns: ns.path, timeoutMs: 60000, dumpSockets: 1 });
let s = performance.now(); await c.apply(addOps(t)); console.log('apply', performance.now() - s);
for (const d of [1, 2, 4, 1]) {
  const h = await openIpvs({ netns: ns.path, timeoutMs: 60000, dumpSockets: d });
  await h.info();
  s = performance.now(); const x = await h.dump(); console.log('dump sockets', d, performance.now() - s, x.length);
  h.close();
}
s = performance.now(); await ns.run('ipvsadm', ['-Sn'], { timeoutMs: 600000 }); console.log('ipvsadm -Sn', performance.now() - s);
s = performance.now(); await ns.run('ipvsadm', ['-Ln'], { timeoutMs: 600000 }); console.log('ipvsadm -Ln', performance.now() - s);
s = performance.now(); await ns.run('true', []); console.log('exec true', performance.now() - s);
await ns.destroy();
