import { test } from 'node:test';
import assert from 'node:assert/strict';
import { change, desiredVs, noChange, real, seed, state, table, vipsOf, vs, world } from './helpers.js';

test('seed: one virtual server, three real servers, one VIP; nothing changed = 0 writes', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  const started = await p.start(s);
  assert.equal(started.kernelWrites, 0);
  const r = await p.sync(noChange(s));
  assert.deepEqual(r.errors, []);
  // link create + 1 address + 1 virtual server + 3 real servers
  assert.equal(r.kernelWrites, 6);
  assert.equal(w.writes(), 6);
  assert.deepEqual([r.virtualServers, r.realServers, r.addresses], [1, 3, 1]);
  assert.deepEqual(await table(w.ipvs), ['TCP/10.96.0.10/80 rr', '  -> 10.244.1.1:9376 w1', '  -> 10.244.1.2:9376 w1', '  -> 10.244.1.3:9376 w1']);
  assert.deepEqual(await vipsOf(w.links), ['10.96.0.10/32']);
  const again = await p.sync(noChange(s));
  assert.equal(again.kernelWrites, 0);
  assert.equal(w.writes(), 6);
  assert.deepEqual(w.store.record?.addresses, ['10.96.0.10']);
  assert.deepEqual(w.store.record?.virtualServers['TCP/10.96.0.10/80'].owner, { namespace: 'default', name: 'web', portName: 'http', kind: 'ClusterIP' });
  assert.deepEqual(w.store.record?.virtualServers['TCP/10.96.0.10/80'].reals['10.244.1.2/9376'], { pod: 'default/web-2' });
});

test('a restart with nothing changed makes zero writes, and so does a verification', async () => {
  const w = world();
  const s = seed();
  const first = w.proxier();
  await first.start(s);
  await first.sync(noChange(s));
  const before = w.writes();
  const savedBefore = w.store.saved.length;
  const second = w.proxier();
  const started = await second.start(s);
  assert.equal(started.kernelWrites, 0);
  assert.deepEqual(started.foreign, []);
  const r = await second.sync(noChange(s));
  assert.equal(r.kernelWrites, 0);
  const v = await second.verify(s);
  assert.equal(v.kernelWrites, 0);
  assert.equal(w.writes(), before);
  assert.equal(w.store.saved.length, savedBefore, 'an unchanged record is not rewritten');
});

test('one endpoint added: exactly one kernel write', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  const v = s.virtualServers.get('TCP/10.96.0.10/80')!;
  const next = state([desiredVs(v.service, [...v.reals, real('10.244.1.4')])], ['10.96.0.10']);
  const r = await p.sync(change(s, next));
  assert.equal(r.kernelWrites, 1);
  assert.equal(r.realServers, 4);
  assert.ok(r.durationMs >= 0);
});

test('incremental sync touches only changed keys; verify finds what sync trusted away', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  // Someone deletes a real server by hand: an incremental sync with no change does not look.
  await w.ipvs.apply([{ op: 'deleteReal', service: vs('10.96.0.10', 80), real: real('10.244.1.2') }]);
  await w.ipvs.apply([{ op: 'updateReal', service: vs('10.96.0.10', 80), real: real('10.244.1.3', 9376, 7) }]);
  w.links.removeAddress('10.96.0.10');
  const base = w.writes();
  assert.equal((await p.sync(noChange(s))).kernelWrites, 0);
  const v = await p.verify(s);
  assert.deepEqual(v.errors, []);
  assert.equal(v.kernelWrites, 3);
  assert.equal(w.writes() - base, 3);
  assert.deepEqual(await table(w.ipvs), ['TCP/10.96.0.10/80 rr', '  -> 10.244.1.1:9376 w1', '  -> 10.244.1.3:9376 w1', '  -> 10.244.1.2:9376 w1']);
  assert.equal((await w.links.listAddresses()).filter((a) => a.address === '10.96.0.10').length, 1);
});

test('verify recreates kube-ipvs0 deleted by hand', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  await w.links.deleteLink('kube-ipvs0');
  const v = await p.verify(s);
  assert.equal(v.kernelWrites, 2);
  assert.deepEqual(await vipsOf(w.links), ['10.96.0.10/32']);
});

test('deletion end to end removes the virtual server and its VIP', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  const empty = state([], []);
  const r = await p.sync(change(s, empty));
  assert.deepEqual(r.errors, []);
  assert.equal(r.kernelWrites, 2);
  assert.equal(w.ipvs.size, 0);
  assert.equal(
    (await w.links.listAddresses()).some((a) => a.address === '10.96.0.10'),
    false,
  );
  assert.deepEqual(w.store.record?.virtualServers, {});
  assert.deepEqual(w.store.record?.addresses, []);
  assert.deepEqual([r.virtualServers, r.realServers, r.addresses], [0, 0, 0]);
});

test('changed service settings are updated in place, not deleted and re-added', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  const v = s.virtualServers.get('TCP/10.96.0.10/80')!;
  const next = state([desiredVs(vs('10.96.0.10', 80, 'TCP', { scheduler: 'wrr', flags: 1, timeout: 10800 }), v.reals)], ['10.96.0.10']);
  const r = await p.sync(change(s, next));
  assert.equal(r.kernelWrites, 1);
  const [entry] = await w.ipvs.dump();
  assert.equal(entry.service.scheduler, 'wrr');
  assert.equal(entry.service.timeout, 10800);
  assert.equal(entry.reals.length, 3);
});

test('an external IP already on another interface is not bound; NodePort addresses never are', async () => {
  const w = world();
  const p = w.proxier();
  const s = state(
    [
      desiredVs(vs('192.168.1.10', 30080), [real('10.244.1.1')], { kind: 'NodePort' }),
      desiredVs(vs('192.168.1.10', 80), [real('10.244.1.1')], { kind: 'ExternalIP' }),
      desiredVs(vs('203.0.113.5', 80), [real('10.244.1.1')], { kind: 'LoadBalancer' }),
    ],
    ['192.168.1.10', '203.0.113.5'],
  );
  await p.start(s);
  const r = await p.sync(noChange(s));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(await vipsOf(w.links), ['203.0.113.5/32']);
  assert.equal(w.ipvs.size, 3);
});

test('IPv6 VIPs are bound as /128', async () => {
  const w = world();
  const p = w.proxier();
  const s = state([desiredVs(vs('fd00::10', 80), [real('fd00:244::1')])], ['fd00::10']);
  await p.start(s);
  const r = await p.sync(noChange(s));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(await vipsOf(w.links), ['fd00::10/128']);
});

test('per-object errors carry names, are retried next sync, and ENOBUFS asks for verification', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  w.ipvs.injectFault({ match: (op) => op.op === 'addReal' && op.real.address === '10.244.1.2', code: 'ENOBUFS' });
  const r = await p.sync(noChange(s));
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0].code, 'ENOBUFS');
  assert.match(r.errors[0].object, /real server 10\.244\.1\.2\/9376 \(pod default\/web-2\) of virtual server default\/web:http TCP\/10\.96\.0\.10\/80/);
  assert.equal(r.needsVerification, true);
  assert.equal(r.realServers, 2);
  const retry = await p.sync(noChange(s));
  assert.deepEqual(retry.errors, []);
  assert.equal(retry.kernelWrites, 1);
  assert.equal(retry.realServers, 3);
  assert.equal(retry.needsVerification, false);
});

test('a failed virtual server does not stop the rest of the sync', async () => {
  const w = world();
  const p = w.proxier();
  const s = state(
    [
      desiredVs(vs('10.96.0.10', 80, 'TCP', { scheduler: 'bogus' }), [real('10.244.1.1')]),
      desiredVs(vs('10.96.0.11', 53, 'UDP'), [real('10.244.1.5', 53)], { name: 'dns', portName: 'dns' }),
    ],
    ['10.96.0.10', '10.96.0.11'],
  );
  await p.start(s);
  const r = await p.sync(noChange(s));
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0].code, 'ENOENT');
  assert.match(r.errors[0].object, /default\/web:http TCP\/10\.96\.0\.10\/80/);
  assert.deepEqual(await table(w.ipvs), ['UDP/10.96.0.11/53 rr', '  -> 10.244.1.5:53 w1']);
});

test('a thrown client error (ETIMEDOUT) fails the batch per object and asks for verification', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  const apply = w.ipvs.apply.bind(w.ipvs);
  let calls = 0;
  w.ipvs.apply = async (ops) => {
    calls++;
    if (calls === 2) throw Object.assign(new Error('netlink wait timed out'), { code: 'ETIMEDOUT' });
    return apply(ops);
  };
  const r = await p.sync(noChange(s));
  assert.equal(r.errors.length, 3);
  assert.ok(r.errors.every((e) => e.code === 'ETIMEDOUT'));
  assert.equal(r.needsVerification, true);
  const v = await p.verify(s);
  assert.deepEqual(v.errors, []);
  assert.equal(v.realServers, 3);
});

test('SyncResult counts IPVS timeouts only when they differ', async () => {
  const w = world({ tcpTimeout: 900, tcpFinTimeout: 30, udpTimeout: 0 });
  const p = w.proxier();
  const r = await p.start(seed());
  assert.equal(r.kernelWrites, 1);
  assert.deepEqual(await w.ipvs.getTimeouts(), { tcp: 900, tcpFin: 30, udp: 300 });
  const again = await w.proxier().start(seed());
  assert.equal(again.kernelWrites, 0);
});

test('sync and verify before start are refused: ownership is not known yet', async () => {
  const { ProxierNotStartedError } = await import('../../../src/proxier/proxier.js');
  const w = world();
  const p = w.proxier();
  await assert.rejects(p.sync(noChange(seed())), ProxierNotStartedError);
  await assert.rejects(p.verify(seed()), ProxierNotStartedError);
  assert.equal(w.writes(), 0);
});

test('iptables: synced with the state when something changed, its writes counted; cleaned up by cleanup()', async () => {
  const w = world();
  const calls: string[] = [];
  const { Proxier } = await import('../../../src/proxier/proxier.js');
  const p = new Proxier({
    ipvs: w.ipvs,
    links: w.links,
    stateStore: w.store,
    conntrack: w.conntrack,
    sysctl: w.sysctl,
    clock: w.clock,
    settings: w.settings,
    iptables: {
      sync: async (s) => {
        calls.push(`sync ${s.virtualServers.size}`);
        return calls.length === 1 ? 2 : 0;
      },
      cleanup: async () => {
        calls.push('cleanup');
        return 3;
      },
    },
  });
  const s = seed();
  await p.start(s);
  assert.equal((await p.sync(noChange(s))).kernelWrites, 8);
  assert.equal((await p.sync(noChange(s))).kernelWrites, 0);
  const c = await p.cleanup();
  assert.deepEqual(calls, ['sync 1', 'cleanup']);
  // 1 virtual server + 1 address + the link + 3 iptables writes
  assert.equal(c.kernelWrites, 6);
});

test('programmedMs ends at the last write that changed the kernel: an iptables check that wrote nothing does not count', async () => {
  const w = world();
  const { Proxier } = await import('../../../src/proxier/proxier.js');
  let iptablesWrites = 0;
  const p = new Proxier({
    ipvs: w.ipvs,
    links: w.links,
    stateStore: w.store,
    conntrack: w.conntrack,
    sysctl: w.sysctl,
    clock: w.clock,
    settings: w.settings,
    iptables: {
      // iptables-restore and ipset take their time; the fake clock moves 500 ms per sync.
      sync: async () => {
        await w.clock.advance(500);
        return iptablesWrites;
      },
    },
  });
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  const v = s.virtualServers.get('TCP/10.96.0.10/80')!;
  const added = state([desiredVs(v.service, [...v.reals, real('10.244.1.4')])], ['10.96.0.10']);
  const quiet = await p.sync(change(s, added));
  assert.equal(quiet.kernelWrites, 1);
  assert.equal(quiet.durationMs, 500, 'the pass lasted through the iptables check');
  assert.equal(quiet.programmedMs, 0, 'the IPVS write was the last that changed anything');

  iptablesWrites = 1;
  const more = state([desiredVs(v.service, [...v.reals, real('10.244.1.4'), real('10.244.1.5')])], ['10.96.0.10']);
  const written = await p.sync(change(added, more));
  assert.equal(written.kernelWrites, 2);
  assert.equal(written.programmedMs, 500, 'an iptables write is part of the programming');
  assert.equal(written.durationMs, 500);
});

test('the real-server count each pass reports stays equal to the table through changes, deletes and a verification', async () => {
  const w = world();
  const p = w.proxier();
  const svc = (i: number, reals: number) =>
    desiredVs(
      vs(`10.96.0.${i}`, 80),
      Array.from({ length: reals }, (_, k) => real(`10.244.${i}.${k + 1}`)),
      { name: `svc-${i}` },
    );
  const at = (sizes: number[]) =>
    state(
      sizes.map((n, i) => svc(i + 1, n)).filter((_, i) => sizes[i] >= 0),
      sizes.map((_, i) => `10.96.0.${i + 1}`).filter((_, i) => sizes[i] >= 0),
    );
  let prev = at([3, 2, 1]);
  await p.start(prev);
  const counted = async () => (await table(w.ipvs)).filter((l) => l.startsWith('  -> ')).length;
  let r = await p.sync(noChange(prev));
  assert.equal(r.realServers, await counted());
  for (const sizes of [
    [4, 2, 1],
    [4, 0, 1],
    [4, 0, -1],
    [1, 5, -1],
    [1, 5, 2],
  ]) {
    const next = at(sizes);
    r = await p.sync(change(prev, next));
    assert.deepEqual(r.errors, []);
    assert.equal(r.realServers, await counted(), `after ${sizes.join(',')}`);
    prev = next;
  }
  const v = await p.verify(prev);
  assert.equal(v.realServers, await counted());
});
