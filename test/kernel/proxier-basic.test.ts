// The Proxier against the real kernel in a fresh network namespace, checked with ipvsadm -Sn and
// ip -o addr: cold sync, zero-write restart, one-endpoint change, drift repair, graceful
// termination, deletion, and foreign / excluded virtual servers that survive everything.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openIpvs } from '../../src/ipvs/client.js';
import type { IpvsClient } from '../../src/ipvs/types.js';
import { openLinks } from '../../src/netif/client.js';
import type { LinkClient } from '../../src/netif/types.js';
import { systemClock } from '../../src/proxier/clock.js';
import { RecordingConntrack } from '../../src/proxier/conntrack.js';
import { Proxier } from '../../src/proxier/proxier.js';
import { FileStateStore } from '../../src/proxier/state-record.js';
import type { ProxierSettings } from '../../src/proxier/types.js';
import { change, desiredVs, noChange, real, SettledSysctl, state, vs } from '../unit/proxier/helpers.js';
import { withNetns, type Netns } from './helpers/netns.js';
import { prepareRoutes } from './ipvs-fixtures.js';

// The handles close on a native worker after close() returns. This file's process ended right
// after its last test and was seen to die with its results unreported (suspected: exit while a
// close was still running on its worker); give the closes time to finish first.
after(() => new Promise<void>((resolve) => setTimeout(resolve, 1000)));

const SETTINGS: ProxierSettings = {
  serviceCidrs: ['10.96.0.0/12'],
  excludeCidrs: ['10.96.200.0/24'],
  nodePortRange: { min: 30000, max: 32767 },
  gracefulTerminationTimeoutMs: 30_000,
  tcpTimeout: 0,
  tcpFinTimeout: 0,
  udpTimeout: 0,
};

interface Agent {
  proxier: Proxier;
  close(): void;
}

async function agent(ns: Netns, stateDir: string): Promise<Agent> {
  const ipvs: IpvsClient = await openIpvs({ netns: ns.path });
  const links: LinkClient = await openLinks({ netns: ns.path });
  const proxier = new Proxier({
    ipvs,
    links,
    conntrack: new RecordingConntrack(),
    sysctl: new SettledSysctl(),
    stateStore: new FileStateStore(stateDir),
    clock: systemClock,
    settings: SETTINGS,
  });
  return { proxier, close: () => (ipvs.close(), links.close()) };
}

async function ipvsadm(ns: Netns): Promise<string[]> {
  return (await ns.run('ipvsadm', ['-Sn'])).trim().split('\n').filter(Boolean).sort();
}

async function vips(ns: Netns): Promise<string[]> {
  const out = await ns.exec('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
  if (out.code !== 0) return [];
  // The kernel's own IPv6 link-local address is not a VIP.
  return out.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/)[3])
    .filter((a) => !a.startsWith('fe80:'))
    .sort();
}

const web = (reals: string[]) =>
  desiredVs(
    vs('10.96.0.10', 80),
    reals.map((a) => real(a, 9376, 1, `web-${a.split('.')[3]}`)),
  );
const dns = desiredVs(vs('10.96.0.53', 53, 'UDP'), [real('10.244.2.1', 53)], { name: 'dns', portName: 'dns' });

async function inNamespace(fn: (ns: Netns, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'proxier-kernel-'));
  try {
    await withNetns(async (ns) => {
      await prepareRoutes(ns);
      await fn(ns, dir);
    }, 'proxier');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('proxier on the real kernel: cold sync, restart with zero writes, changes, drift, foreign survives', async () => {
  await inNamespace(async (ns, dir) => {
    // Someone else's virtual servers: keepalived-style, and one inside --exclude-cidrs.
    await ns.run('ipvsadm', ['-A', '-t', '192.168.77.1:80', '-s', 'wlc']);
    await ns.run('ipvsadm', ['-a', '-t', '192.168.77.1:80', '-r', '10.1.1.1:80', '-m']);
    await ns.run('ipvsadm', ['-A', '-t', '10.96.200.5:80', '-s', 'rr']);
    const foreignLines = ['-A -t 192.168.77.1:80 -s wlc', '-a -t 192.168.77.1:80 -r 10.1.1.1:80 -m -w 1', '-A -t 10.96.200.5:80 -s rr'];

    const s1 = state([web(['10.244.1.1', '10.244.1.2', '10.244.1.3']), dns], ['10.96.0.10', '10.96.0.53']);
    const a = await agent(ns, dir);
    const started = await a.proxier.start(s1);
    assert.deepEqual(started.foreign.map((f) => `${f.key} ${f.reason}`).sort(), ['TCP/10.96.200.5/80 excluded', 'TCP/192.168.77.1/80 foreign']);
    const cold = await a.proxier.sync(noChange(s1));
    assert.deepEqual(cold.errors, []);
    // link + 2 addresses + 2 virtual servers + 4 real servers
    assert.equal(cold.kernelWrites, 9);
    assert.deepEqual(
      await ipvsadm(ns),
      [
        ...foreignLines,
        '-A -t 10.96.0.10:80 -s rr',
        '-a -t 10.96.0.10:80 -r 10.244.1.1:9376 -m -w 1',
        '-a -t 10.96.0.10:80 -r 10.244.1.2:9376 -m -w 1',
        '-a -t 10.96.0.10:80 -r 10.244.1.3:9376 -m -w 1',
        '-A -u 10.96.0.53:53 -s rr',
        '-a -u 10.96.0.53:53 -r 10.244.2.1:53 -m -w 1',
      ].sort(),
    );
    assert.deepEqual(await vips(ns), ['10.96.0.10/32', '10.96.0.53/32']);
    a.close();

    // Restart: nothing changed, nothing written.
    const b = await agent(ns, dir);
    const restarted = await b.proxier.start(s1);
    assert.equal(restarted.kernelWrites, 0);
    const resync = await b.proxier.sync(noChange(s1));
    assert.deepEqual(resync.errors, []);
    assert.equal(resync.kernelWrites, 0);
    assert.equal((await b.proxier.verify(s1)).kernelWrites, 0);

    // One endpoint added: one write.
    const s2 = state([web(['10.244.1.1', '10.244.1.2', '10.244.1.3', '10.244.1.4']), dns], ['10.96.0.10', '10.96.0.53']);
    assert.equal((await b.proxier.sync(change(s1, s2))).kernelWrites, 1);
    assert.ok((await ipvsadm(ns)).includes('-a -t 10.96.0.10:80 -r 10.244.1.4:9376 -m -w 1'));

    // Drift by hand: a real server deleted, a VIP removed; verification repairs both.
    await ns.run('ipvsadm', ['-d', '-t', '10.96.0.10:80', '-r', '10.244.1.2:9376']);
    await ns.run('ip', ['addr', 'del', '10.96.0.53/32', 'dev', 'kube-ipvs0']);
    const repaired = await b.proxier.verify(s2);
    assert.deepEqual(repaired.errors, []);
    assert.equal(repaired.kernelWrites, 2);
    assert.ok((await ipvsadm(ns)).includes('-a -t 10.96.0.10:80 -r 10.244.1.2:9376 -m -w 1'));
    assert.deepEqual(await vips(ns), ['10.96.0.10/32', '10.96.0.53/32']);

    // Graceful termination: TCP goes to weight 0 and, with no connections, is deleted at the check.
    const s3 = state([web(['10.244.1.1', '10.244.1.2', '10.244.1.3']), dns], ['10.96.0.10', '10.96.0.53']);
    assert.equal((await b.proxier.sync(change(s2, s3))).kernelWrites, 1);
    assert.ok((await ipvsadm(ns)).includes('-a -t 10.96.0.10:80 -r 10.244.1.4:9376 -m -w 0'));
    const drained = await b.proxier.drainCheck();
    assert.equal(drained.kernelWrites, 1);
    assert.ok(!(await ipvsadm(ns)).some((l) => l.includes('10.244.1.4')));

    // Deletion end to end: the UDP service and its VIP go.
    const s4 = state([web(['10.244.1.1', '10.244.1.2', '10.244.1.3'])], ['10.96.0.10']);
    const deleted = await b.proxier.sync(change(s3, s4));
    assert.deepEqual(deleted.errors, []);
    assert.ok(!(await ipvsadm(ns)).some((l) => l.includes('10.96.0.53')));
    assert.deepEqual(await vips(ns), ['10.96.0.10/32']);

    // Cleanup: ours gone (virtual servers, VIPs, link), theirs intact.
    const cleaned = await b.proxier.cleanup();
    assert.deepEqual(cleaned.errors, []);
    assert.deepEqual(await ipvsadm(ns), [...foreignLines].sort());
    assert.equal((await ns.exec('ip', ['link', 'show', 'kube-ipvs0'])).code, 1);
    b.close();
  });
});

test('proxier on the real kernel: a VIP already on another interface is not bound', async () => {
  await inNamespace(async (ns, dir) => {
    await ns.run('ip', ['addr', 'add', '10.99.0.7/32', 'dev', 'routes0']);
    const s = state([desiredVs(vs('10.99.0.7', 80), [real('10.244.1.1')], { kind: 'ExternalIP' }), web(['10.244.1.1'])], ['10.99.0.7', '10.96.0.10']);
    const a = await agent(ns, dir);
    await a.proxier.start(s);
    const r = await a.proxier.sync(noChange(s));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(await vips(ns), ['10.96.0.10/32']);
    assert.equal((await ipvsadm(ns)).filter((l) => l.startsWith('-A')).length, 2);
    a.close();
  });
});
