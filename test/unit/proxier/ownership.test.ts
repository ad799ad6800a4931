import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIpvs } from '../../support/fake-ipvs.js';
import type { IpvsOp } from '../../../src/vocabulary/ipvs.js';
import { CidrSet, Ownership } from '../../../src/proxier/ownership.js';
import { emptyRecord, serializeRecord } from '../../../src/proxier/state-record.js';
import { desiredVs, noChange, real, seed, state, table, vs, world } from './helpers.js';

const keepalived = vs('192.168.1.100', 80);
const excluded = vs('10.96.5.5', 80);

async function seedForeign(ipvs: FakeIpvs): Promise<void> {
  const ops: IpvsOp[] = [
    { op: 'addService', service: keepalived },
    { op: 'addReal', service: keepalived, real: real('192.168.1.21', 80) },
    { op: 'addService', service: excluded },
    { op: 'addReal', service: excluded, real: real('10.244.9.9', 80) },
  ];
  assert.ok((await ipvs.apply(ops)).every((r) => r.ok));
}

test('foreign and excluded virtual servers survive start, sync, verify and cleanup; reported once', async () => {
  const w = world({ serviceCidrs: ['10.96.0.0/12'], excludeCidrs: ['10.96.5.0/24'] });
  await seedForeign(w.ipvs);
  w.links.addLink('kube-ipvs0', 'dummy');
  w.links.seedAddress('kube-ipvs0', '10.96.5.5', 32);
  const p = w.proxier();
  const s = seed();
  const started = await p.start(s);
  assert.deepEqual(started.foreign.map((f) => `${f.kind} ${f.key} ${f.reason}`).sort(), [
    'address 10.96.5.5 excluded',
    'virtual server TCP/10.96.5.5/80 excluded',
    'virtual server TCP/192.168.1.100/80 foreign',
  ]);
  await p.sync(noChange(s));
  const v = await p.verify(s);
  assert.deepEqual(v.foreign, [], 'reported once');
  assert.deepEqual(v.errors, []);
  const c = await p.cleanup();
  assert.deepEqual(c.errors, []);
  assert.deepEqual(await table(w.ipvs), ['TCP/192.168.1.100/80 rr', '  -> 192.168.1.21:80 w1', 'TCP/10.96.5.5/80 rr', '  -> 10.244.9.9:80 w1']);
  // The link stays: it still holds an address that is not ours.
  const idx = await w.links.linkIndex('kube-ipvs0');
  assert.deepEqual(
    (await w.links.listAddresses(idx)).map((a) => a.address),
    ['10.96.5.5'],
  );
});

test('a desired key held by a foreign virtual server is reported and left alone', async () => {
  const w = world();
  await seedForeign(w.ipvs);
  const p = w.proxier();
  const s = state([desiredVs(keepalived, [real('10.244.1.1')], { kind: 'ExternalIP' })], []);
  await p.start(s);
  const r = await p.sync(noChange(s));
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0].object, /TCP\/192\.168\.1\.100\/80/);
  assert.equal(r.kernelWrites, 0);
  assert.deepEqual(
    (await w.ipvs.dump()).find((e) => e.service.address === '192.168.1.100')?.reals.map((x) => x.address),
    ['192.168.1.21'],
  );
});

test('desired state inside --exclude-cidrs is never programmed', async () => {
  const w = world({ excludeCidrs: ['10.96.0.0/24'] });
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  const r = await p.sync(noChange(s));
  assert.equal(w.ipvs.size, 0);
  assert.equal(r.addresses, 0);
  assert.equal(r.errors.length, 2);
});

test('adoption: record, exact match, service CIDRs, node address + node port; the rest is foreign', async () => {
  const w = world({ serviceCidrs: ['10.96.0.0/12'] });
  const inRecord = vs('172.16.0.1', 80);
  const exact = vs('172.16.0.2', 80);
  const inexact = vs('172.16.0.3', 80);
  const inCidr = vs('10.100.0.1', 443);
  const nodePort = vs('192.168.1.10', 30080);
  const lowPort = vs('192.168.1.10', 8080);
  const ops: IpvsOp[] = [inRecord, exact, inexact, inCidr, nodePort, lowPort].map((service) => ({ op: 'addService', service }));
  ops.push({ op: 'addReal', service: exact, real: real('10.244.1.1') }, { op: 'addReal', service: inexact, real: real('10.244.1.1') });
  await w.ipvs.apply(ops);
  w.links.addLink('kube-ipvs0', 'dummy');
  for (const a of ['172.16.0.1', '172.16.0.2', '10.100.0.1', '172.16.9.9']) w.links.seedAddress('kube-ipvs0', a, 32);
  const record = emptyRecord();
  record.virtualServers['TCP/172.16.0.1/80'] = { reals: {} };
  record.addresses.push('172.16.0.1');
  await w.store.save(serializeRecord(record));
  const s = state([desiredVs(exact, [real('10.244.1.1')]), desiredVs(inexact, [real('10.244.1.1'), real('10.244.1.2')])], ['172.16.0.2']);
  const p = w.proxier();
  const started = await p.start(s);
  assert.deepEqual(p.owned(), {
    virtualServers: ['TCP/10.100.0.1/443', 'TCP/172.16.0.1/80', 'TCP/172.16.0.2/80', 'TCP/192.168.1.10/30080'],
    addresses: ['10.100.0.1', '172.16.0.1', '172.16.0.2'],
  });
  assert.deepEqual(started.foreign.map((f) => f.key).sort(), ['172.16.9.9', 'TCP/172.16.0.3/80', 'TCP/192.168.1.10/8080']);
  // The record is rebuilt at once to cover everything adopted.
  assert.deepEqual(Object.keys(w.store.record!.virtualServers), p.owned().virtualServers);
});

test('a corrupt record is reported and rebuilt by the same rules', async () => {
  const w = world({ serviceCidrs: ['10.96.0.0/12'] });
  const s = seed();
  const first = w.proxier();
  await first.start(s);
  await first.sync(noChange(s));
  const { MemoryStateStore } = await import('../../support/memory-state-store.js');
  const corrupt = new MemoryStateStore(undefined, 'not JSON');
  const { Proxier } = await import('../../../src/proxier/proxier.js');
  const p = new Proxier({ ipvs: w.ipvs, links: w.links, stateStore: corrupt, conntrack: w.conntrack, sysctl: w.sysctl, clock: w.clock, settings: w.settings });
  const started = await p.start(s);
  assert.equal(started.errors[0].object, 'state record');
  assert.deepEqual(Object.keys(corrupt.record!.virtualServers), ['TCP/10.96.0.10/80']);
  const before = w.writes();
  assert.equal((await p.sync(noChange(s))).kernelWrites, 0);
  assert.equal(w.writes(), before);
});

test('a crash mid-sync leaves a record that covers the kernel; the next start adopts and cleans up', async () => {
  const w = world();
  const s = seed();
  const p = w.proxier();
  await p.start(s);
  // At every kernel write, the record on "disk" must already list what is being created.
  const apply = w.ipvs.apply.bind(w.ipvs);
  let calls = 0;
  w.ipvs.apply = async (ops) => {
    for (const op of ops) if (op.op === 'addService') assert.ok(w.store.record?.virtualServers[`TCP/${op.service.address}/${op.service.port}`]);
    calls++;
    const results = await apply(ops);
    if (calls === 1) throw new Error('process killed');
    return results;
  };
  assert.ok(w.store.record === undefined || Object.keys(w.store.record.virtualServers).length === 0);
  const crashed = await p.sync(noChange(s));
  assert.ok(crashed.errors.length > 0);
  assert.deepEqual(w.store.record?.addresses, ['10.96.0.10']);
  w.ipvs.apply = apply;
  // Kernel now holds the virtual server without its real servers. A new agent that no longer
  // wants it (and has no service CIDRs to go by) still knows it is its own.
  const after = w.proxier();
  const started = await after.start(state([], []));
  assert.deepEqual(started.foreign, []);
  const c = await after.cleanup();
  assert.deepEqual(c.errors, []);
  assert.equal(w.ipvs.size, 0);
  assert.equal(await w.links.linkIndex('kube-ipvs0'), undefined);
});

test('cleanup removes everything owned, the link, and nothing else', async () => {
  const w = world();
  await seedForeign(w.ipvs);
  const s = seed();
  const p = w.proxier();
  await p.start(s);
  await p.sync(noChange(s));
  const fresh = w.proxier();
  const c = await fresh.cleanup();
  assert.deepEqual(c.errors, []);
  assert.equal(c.kernelWrites, 3);
  assert.deepEqual(
    (await table(w.ipvs)).filter((l) => !l.startsWith('  ')),
    ['TCP/192.168.1.100/80 rr', 'TCP/10.96.5.5/80 rr'],
  );
  assert.equal(await w.links.linkIndex('kube-ipvs0'), undefined);
  assert.deepEqual(w.store.record?.virtualServers, {});
});

const WEB = 'TCP/10.96.0.10/80';
const DNS = 'UDP/10.96.0.53/53';

test('Ownership.claim and release change the owned sets, counted; adoption replaces them', () => {
  const o = new Ownership(new CidrSet(['10.96.5.0/24']));
  o.claim({ virtualServers: [WEB, DNS], addresses: ['10.96.0.10'] });
  assert.deepEqual([...o.virtualServers].sort(), [WEB, DNS].sort());
  assert.deepEqual([...o.addresses], ['10.96.0.10']);
  const counted = o.virtualServers.changes;
  o.claim({ virtualServers: [WEB] });
  assert.equal(o.virtualServers.changes, counted, 'claiming an owned key again is no change');
  o.release({ virtualServers: [DNS], addresses: ['10.96.0.10'] });
  assert.deepEqual([...o.virtualServers], [WEB]);
  assert.deepEqual([...o.addresses], []);
  assert.ok(o.virtualServers.changes > counted);
  o.release({ virtualServers: ['TCP/10.96.9.9/80'] });
  assert.deepEqual([...o.virtualServers], [WEB]);
  // Adoption replaces both sets; foreign and excluded keys stay untouchable.
  o.adoptVirtualServers([DNS], [WEB]);
  assert.deepEqual([...o.virtualServers], [DNS]);
  assert.deepEqual([...o.foreignVirtualServers], [WEB]);
  assert.equal(o.mayTouchService(WEB, vs('10.96.0.10', 80)), false);
  assert.equal(o.mayTouchService(DNS, vs('10.96.0.53', 53, 'UDP')), true);
  assert.equal(o.mayTouchService('TCP/10.96.5.5/80', vs('10.96.5.5', 80)), false);
  o.adoptAddresses(['10.96.0.53'], ['10.96.0.10']);
  assert.equal(o.mayTouchAddress('10.96.0.10'), false);
  assert.equal(o.mayTouchAddress('10.96.0.53'), true);
  assert.equal(o.mayTouchAddress('10.96.5.1'), false);
});
