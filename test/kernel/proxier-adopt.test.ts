// Taking over from kube-proxy on the real kernel: its virtual servers and kube-ipvs0 addresses
// inside --service-cidrs (and NodePorts on node addresses) are adopted without a write, stale
// ones removed, foreign ones left alone. And a removed UDP real server takes its conntrack
// entries with it, through the real conntrack tool.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openIpvs } from '../../src/ipvs/client.js';
import { openLinks } from '../../src/netif/client.js';
import { systemClock } from '../../src/proxier/clock.js';
import { ConntrackTool } from '../../src/proxier/conntrack.js';
import { Proxier } from '../../src/proxier/proxier.js';
import { FileStateStore } from '../../src/proxier/state-record.js';
import type { ConntrackFlusher, ProxierSettings } from '../../src/proxier/types.js';
import { change, desiredVs, noChange, real, SettledSysctl, state, vs } from '../unit/proxier/helpers.js';
import { withNetns, type Netns } from './helpers/netns.js';
import { prepareRoutes } from './ipvs-fixtures.js';

// The handles close on a native worker after close() returns. This file's process ended right
// after its last test and was seen to die with its results unreported (suspected: exit while a
// close was still running on its worker); give the closes time to finish first.
after(() => new Promise<void>((resolve) => setTimeout(resolve, 1000)));

const SETTINGS: ProxierSettings = {
  serviceCidrs: ['10.96.0.0/12'],
  excludeCidrs: [],
  nodePortRange: { min: 30000, max: 32767 },
  gracefulTerminationTimeoutMs: 30_000,
  tcpTimeout: 0,
  tcpFinTimeout: 0,
  udpTimeout: 0,
};

async function withAgent(ns: Netns, dir: string, conntrack: ConntrackFlusher, fn: (p: Proxier) => Promise<void>): Promise<void> {
  const ipvs = await openIpvs({ netns: ns.path });
  const links = await openLinks({ netns: ns.path });
  try {
    await fn(new Proxier({ ipvs, links, conntrack, sysctl: new SettledSysctl(), stateStore: new FileStateStore(dir), clock: systemClock, settings: SETTINGS }));
  } finally {
    ipvs.close();
    links.close();
  }
}

async function ipvsadm(ns: Netns): Promise<string[]> {
  return (await ns.run('ipvsadm', ['-Sn'])).trim().split('\n').filter(Boolean).sort();
}

async function inNamespace(fn: (ns: Netns, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'proxier-adopt-'));
  try {
    await withNetns(async (ns) => {
      await prepareRoutes(ns);
      await fn(ns, dir);
    }, 'adopt');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('takeover from kube-proxy: adopt without writes, remove what is stale, keep what is foreign', async () => {
  await inNamespace(async (ns, dir) => {
    // What kube-proxy leaves behind, plus keepalived's virtual server.
    await ns.run('ip', ['link', 'add', 'kube-ipvs0', 'type', 'dummy']);
    await ns.run('ip', ['addr', 'add', '10.96.0.10/32', 'dev', 'kube-ipvs0']);
    await ns.run('ip', ['addr', 'add', '10.96.0.99/32', 'dev', 'kube-ipvs0']);
    const rules = [
      '-A -t 10.96.0.10:80 -s rr',
      '-a -t 10.96.0.10:80 -r 10.244.1.1:9376 -m -w 1',
      '-a -t 10.96.0.10:80 -r 10.244.1.2:9376 -m -w 1',
      '-A -t 10.0.0.1:30080 -s rr',
      '-a -t 10.0.0.1:30080 -r 10.244.1.1:9376 -m -w 1',
      '-a -t 10.0.0.1:30080 -r 10.244.1.2:9376 -m -w 1',
      '-A -t 10.96.0.99:80 -s rr',
      '-A -t 192.168.77.1:80 -s wlc',
    ];
    await ns.run('ipvsadm', ['-R'], { input: `${rules.join('\n')}\n` });
    const reals = [real('10.244.1.1'), real('10.244.1.2')];
    const s = state([desiredVs(vs('10.96.0.10', 80), reals), desiredVs(vs('10.0.0.1', 30080), reals, { kind: 'NodePort' })], ['10.96.0.10']);
    await withAgent(ns, dir, new ConntrackTool(['ip', 'netns', 'exec', ns.name, 'conntrack']), async (p) => {
      const started = await p.start(s);
      assert.deepEqual(
        started.foreign.map((f) => f.key),
        ['TCP/192.168.77.1/80'],
      );
      const r = await p.sync(noChange(s));
      assert.deepEqual(r.errors, []);
      // Only the stale virtual server and the stale VIP go.
      assert.equal(r.kernelWrites, 2);
      assert.deepEqual(await ipvsadm(ns), rules.filter((l) => !l.includes('10.96.0.99')).sort());
      const addrs = await ns.run('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
      assert.ok(addrs.includes('10.96.0.10/32') && !addrs.includes('10.96.0.99'));
    });
    await withAgent(ns, dir, new ConntrackTool(['ip', 'netns', 'exec', ns.name, 'conntrack']), async (p) => {
      await p.start(s);
      assert.equal((await p.sync(noChange(s))).kernelWrites, 0);
    });
  });
});

test('a removed UDP real server is deleted at once and its conntrack entries flushed', async () => {
  await inNamespace(async (ns, dir) => {
    const udp = vs('10.96.0.53', 53, 'UDP');
    const a = state([desiredVs(udp, [real('10.244.2.1', 53), real('10.244.2.2', 53)], { name: 'dns', portName: 'dns' })], ['10.96.0.53']);
    const b = state([desiredVs(udp, [real('10.244.2.1', 53)], { name: 'dns', portName: 'dns' })], ['10.96.0.53']);
    // An entry as a DNS query answered by 10.244.2.2 would leave it.
    await ns.run('conntrack', [
      '-I',
      '-p',
      'udp',
      '-s',
      '10.0.0.5',
      '-d',
      '10.96.0.53',
      '--sport',
      '40000',
      '--dport',
      '53',
      '-r',
      '10.244.2.2',
      '-q',
      '10.0.0.5',
      '--reply-port-src',
      '53',
      '--reply-port-dst',
      '40000',
      '-t',
      '120',
    ]);
    assert.match(await ns.run('conntrack', ['-L', '-p', 'udp']), /10\.244\.2\.2/);
    await withAgent(ns, dir, new ConntrackTool(['ip', 'netns', 'exec', ns.name, 'conntrack']), async (p) => {
      await p.start(a);
      await p.sync(noChange(a));
      const r = await p.sync(change(a, b));
      assert.deepEqual(r.errors, []);
      assert.equal(r.kernelWrites, 2);
      assert.ok(!(await ipvsadm(ns)).some((l) => l.includes('10.244.2.2')));
      assert.doesNotMatch(await ns.run('conntrack', ['-L', '-p', 'udp']), /10\.244\.2\.2/);
    });
  });
});
