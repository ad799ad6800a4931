// The periodic verification's background check: a kernel read taken on the reader handles while
// syncs go on, compared with what was programmed. Drift made by hand is found (and a full
// verify() repairs it); what a sync changed while the read was in flight is not drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIpvs } from '../../support/fake-ipvs.js';
import type { DumpOptions, IpvsClient } from '../../../src/ipvs/types.js';
import type { VirtualServerEntry } from '../../../src/vocabulary/ipvs.js';
import { FakeLinks } from '../../support/fake-links.js';
import { Proxier } from '../../../src/proxier/proxier.js';
import { change, desiredVs, noChange, real, seed, state, table, vs, world, type World } from './helpers.js';

/** A reader over the world's fakes whose IPVS dump is taken at once but handed over only when released. */
class GatedReader {
  dumps = 0;
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;
  readonly ipvs: IpvsClient;

  constructor(
    private readonly kernel: FakeIpvs,
    readonly links: FakeLinks,
  ) {
    this.ipvs = Object.create(kernel, {
      dump: {
        value: async (options?: DumpOptions): Promise<VirtualServerEntry[]> => {
          this.dumps++;
          const entries = await this.kernel.dump(options);
          await this.gate;
          return entries;
        },
      },
    }) as IpvsClient;
  }

  hold(): void {
    this.gate = new Promise((r) => (this.release = r));
  }

  open(): void {
    this.release?.();
    this.gate = undefined;
  }
}

function withReader(w: World): { proxier: Proxier; reader: GatedReader } {
  const reader = new GatedReader(w.ipvs, w.links);
  const proxier = new Proxier({
    ipvs: w.ipvs,
    links: w.links,
    reader,
    stateStore: w.store,
    conntrack: w.conntrack,
    sysctl: w.sysctl,
    clock: w.clock,
    settings: w.settings,
  });
  return { proxier, reader };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('check: nothing changed by hand is no drift, reads on the reader handles, writes nothing', async () => {
  const w = world();
  const { proxier, reader } = withReader(w);
  const s = seed();
  await proxier.start(s);
  await proxier.sync(noChange(s));
  const dumpsBefore = w.ipvs.dumps;
  const base = w.writes();
  const c = await proxier.check();
  assert.equal(c.drift, undefined);
  assert.equal(c.fullCompare, true);
  assert.equal(c.kernelWrites, 0);
  assert.equal(w.writes(), base);
  assert.equal(reader.dumps, 1, 'the read went through the reader');
  assert.equal(w.ipvs.dumps - dumpsBefore, 1, "one dump of the (shared) fake table, the reader's");
  assert.deepEqual([c.virtualServers, c.realServers, c.addresses], [1, 3, 1]);
});

test('check: each kind of hand-made drift is found, and verify() repairs it', async () => {
  const cases: [string, (w: World) => Promise<void>, RegExp][] = [
    [
      'real server deleted',
      (w) => w.ipvs.apply([{ op: 'deleteReal', service: vs('10.96.0.10', 80), real: real('10.244.1.2') }]).then(() => undefined),
      /TCP\/10\.96\.0\.10\/80 differs/,
    ],
    [
      'weight changed',
      (w) => w.ipvs.apply([{ op: 'updateReal', service: vs('10.96.0.10', 80), real: real('10.244.1.3', 9376, 7) }]).then(() => undefined),
      /differs/,
    ],
    [
      'scheduler changed',
      (w) => w.ipvs.apply([{ op: 'updateService', service: vs('10.96.0.10', 80, 'TCP', { scheduler: 'wlc' }) }]).then(() => undefined),
      /differs/,
    ],
    [
      'virtual server deleted',
      (w) => w.ipvs.apply([{ op: 'deleteService', service: vs('10.96.0.10', 80) }]).then(() => undefined),
      /TCP\/10\.96\.0\.10\/80 is missing/,
    ],
    ['VIP removed', async (w) => w.links.removeAddress('10.96.0.10'), /address 10\.96\.0\.10 is missing/],
    ['kube-ipvs0 deleted', async (w) => void (await w.links.deleteLink('kube-ipvs0')), /kube-ipvs0 was/],
  ];
  for (const [what, drift, reason] of cases) {
    const w = world();
    const { proxier } = withReader(w);
    const s = seed();
    await proxier.start(s);
    await proxier.sync(noChange(s));
    const want = (await table(w.ipvs)).sort();
    await drift(w);
    const c = await proxier.check();
    assert.match(c.drift ?? '(none)', reason, what);
    assert.notEqual(c.fullCompare, true, `${what}: a check with drift is not a full comparison`);
    const v = await proxier.verify(s);
    assert.ok(v.kernelWrites > 0, `${what}: verify repaired it`);
    assert.deepEqual((await table(w.ipvs)).sort(), want, what);
    assert.equal((await proxier.check()).drift, undefined, `${what}: clean after the repair`);
  }
});

test('check: a foreign virtual server is drift once; once verify() has seen it, it is not', async () => {
  const w = world();
  const { proxier } = withReader(w);
  const s = seed();
  await proxier.start(s);
  await proxier.sync(noChange(s));
  await w.ipvs.apply([{ op: 'addService', service: vs('192.0.2.10', 443) }]);
  assert.match((await proxier.check()).drift ?? '', /TCP\/192\.0\.2\.10\/443 appeared/);
  const v = await proxier.verify(s);
  assert.deepEqual(
    v.foreign.map((f) => f.key),
    ['TCP/192.0.2.10/443'],
  );
  assert.equal((await proxier.check()).drift, undefined);
  await w.ipvs.apply([{ op: 'deleteService', service: vs('192.0.2.10', 443) }]);
  assert.match((await proxier.check()).drift ?? '', /foreign virtual server TCP\/192\.0\.2\.10\/443 is gone/);
});

test('check: what a sync changes while the read is in flight is not drift; an untouched key still is', async () => {
  const w = world();
  const { proxier, reader } = withReader(w);
  const s1 = seed();
  await proxier.start(s1);
  await proxier.sync(noChange(s1));
  const other = desiredVs(vs('10.96.0.20', 53, 'UDP'), [real('10.244.2.1', 53)]);
  const s2 = state([...s1.virtualServers.values(), other], ['10.96.0.10', '10.96.0.20']);
  await proxier.sync(change(s1, s2));

  // The read is taken, then a sync adds an endpoint and a new service before the read is compared.
  reader.hold();
  const checking = proxier.check();
  await turn();
  const web = s2.virtualServers.get('TCP/10.96.0.10/80')!;
  const third = desiredVs(vs('10.96.0.30', 80), [real('10.244.3.1')]);
  const s3 = state([{ ...web, reals: [...web.reals, real('10.244.1.4')] }, other, third], ['10.96.0.10', '10.96.0.20', '10.96.0.30']);
  const sync = await proxier.sync(change(s2, s3));
  assert.deepEqual(sync.errors, []);
  reader.open();
  const c = await checking;
  assert.equal(c.drift, undefined, 'the read predates the sync: its keys are skipped');

  // The same race with a hand-made change to a key the sync did not touch: drift.
  reader.hold();
  const again = proxier.check();
  await turn();
  await w.ipvs.apply([{ op: 'deleteReal', service: vs('10.96.0.20', 53, 'UDP'), real: real('10.244.2.1', 53) }]);
  const s4 = state(
    [...s3.virtualServers.values()].map((v) => (v === third ? { ...third, reals: [...third.reals, real('10.244.3.2')] } : v)),
    [...s3.addresses.keys()],
  );
  await proxier.sync(change(s3, s4));
  reader.open();
  // The gated dump was taken before the hand-made delete; a second check sees it.
  assert.equal((await again).drift, undefined);
  assert.match((await proxier.check()).drift ?? '', /UDP\/10\.96\.0\.20\/53 differs/);
});

test('check: a full pass meanwhile (verify) makes the comparison moot, not drift', async () => {
  const w = world();
  const { proxier, reader } = withReader(w);
  const s = seed();
  await proxier.start(s);
  await proxier.sync(noChange(s));
  reader.hold();
  const checking = proxier.check();
  await turn();
  await w.ipvs.apply([{ op: 'deleteReal', service: vs('10.96.0.10', 80), real: real('10.244.1.2') }]);
  await proxier.verify(s);
  reader.open();
  assert.equal((await checking).drift, undefined);
});
