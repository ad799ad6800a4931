// The state record's writer: ownership changes are written at once (crash safety), however they
// are made, while a pass that changed no ownership compares nothing and writes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountingSet } from '../../../src/proxier/ownership.js';
import { RecordKeeper } from '../../../src/proxier/record-keeper.js';
import { type StateRecord } from '../../../src/proxier/state-record.js';
import { FakeClock } from '../../support/fake-clock.js';
import { MemoryStateStore } from '../../support/memory-state-store.js';
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import type { DesiredState } from '../../../src/model/types.js';
import { desiredVs, real, state, vs } from './helpers.js';

test('CountingSet counts real changes only', () => {
  const s = new CountingSet<string>();
  s.add('a');
  s.add('a');
  assert.equal(s.changes, 1);
  assert.equal(s.delete('b'), false);
  assert.equal(s.changes, 1);
  s.delete('a');
  assert.equal(s.changes, 2);
  s.clear();
  assert.equal(s.changes, 2, 'clearing an empty set changes nothing');
  s.add('x');
  s.clear();
  assert.equal(s.changes, 4);
  assert.equal(s.size, 0);
});

test('every ownership change is written, one that keeps the size included; no change, no write', async () => {
  const store = new MemoryStateStore();
  const keeper = new RecordKeeper(store);
  const vs = new CountingSet<string>();
  const addresses = new CountingSet<string>();
  vs.add('TCP/10.96.0.1/80');
  addresses.add('10.96.0.1');
  assert.equal(await keeper.save(vs, addresses, undefined, [], 0, false), true);
  assert.equal(await keeper.save(vs, addresses, undefined, [], 1, false), false);
  // Same size, other member: still a change of ownership.
  vs.delete('TCP/10.96.0.1/80');
  vs.add('TCP/10.96.0.2/80');
  assert.equal(await keeper.save(vs, addresses, undefined, [], 2, false), true);
  assert.deepEqual(Object.keys(store.record?.virtualServers ?? {}), ['TCP/10.96.0.2/80']);
  addresses.add('10.96.0.2');
  assert.equal(await keeper.save(vs, addresses, undefined, [], 3, false), true);
  assert.deepEqual(store.record?.addresses, ['10.96.0.1', '10.96.0.2']);
  // A change and its undoing between two saves leaves the record as it was: nothing to write.
  addresses.add('10.96.0.3');
  addresses.delete('10.96.0.3');
  assert.equal(await keeper.save(vs, addresses, undefined, [], 4, false), false);
  // Plain sets (no change count) are compared by content.
  assert.equal(await keeper.save(new Set(vs), new Set(addresses), undefined, [], 5, false), false);
  assert.equal(await keeper.save(new Set(['TCP/10.96.0.9/80']), new Set(addresses), undefined, [], 6, false), true);
});

/** A store whose writes can be held at the door, or made to fail once. */
class HeldStore extends MemoryStateStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private failure: Error | undefined;
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
    this.gate = undefined;
  }
  failNext(err: Error): void {
    this.failure = err;
  }
  override async save(text: string): Promise<void> {
    await this.gate;
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
    await super.save(text);
  }
}

function podOf(record: StateRecord | undefined, key: string): string | undefined {
  return Object.values(record?.virtualServers[key]?.reals ?? {})[0]?.pod;
}

test('a names-only write runs behind the pass; a claim after it waits its turn and lands last; a failed one is reported by the next save and retried', async () => {
  const store = new HeldStore();
  const keeper = new RecordKeeper(store, 1000);
  const web = vs('10.96.0.1', 80);
  const api = vs('10.96.0.2', 443);
  const K = serviceKey(web);
  const K2 = serviceKey(api);
  const owned = new CountingSet<string>();
  const addresses = new CountingSet<string>();
  const desired = (pod: string, withApi = false): DesiredState =>
    state([desiredVs(web, [real('10.244.0.5', 9376, 1, pod)]), ...(withApi ? [desiredVs(api, [real('10.244.0.9', 8443, 1, 'api-0')])] : [])], []);

  owned.add(K);
  assert.equal(await keeper.save(owned, addresses, desired('web-a'), [K], 0, false), true, 'a claim is written before the save resolves');
  assert.equal(podOf(store.record, K), 'default/web-a');

  // A new pod behind the endpoint after the debounce: the save resolves without waiting for the disk.
  store.hold();
  assert.equal(await keeper.save(owned, addresses, desired('web-b'), [K], 5000, false), false);
  assert.equal(podOf(store.record, K), 'default/web-a', 'still held at the door');
  // A claim meanwhile queues behind it: the record on disk must never lose it to the older write.
  owned.add(K2);
  let claimed = false;
  const claim = keeper.save(owned, addresses, desired('web-b', true), [K2], 5001, false).then((w) => (claimed = w));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(claimed, false, 'the claim waits for the write before it');
  store.release();
  assert.equal(await claim, true);
  assert.deepEqual(
    store.saved.map((r) => Object.keys(r.virtualServers)),
    [[K], [K], [K, K2]],
  );
  assert.equal(podOf(store.saved[1], K), 'default/web-b');

  // A failing names-only write: the next save says so (the pass logs it), and it is written again.
  store.failNext(new Error('disk full'));
  assert.equal(await keeper.save(owned, addresses, desired('web-c', true), [K], 7000, false), false);
  await keeper.idle();
  await assert.rejects(keeper.save(owned, addresses, desired('web-c', true), [K], 7001, false), /disk full/);
  assert.equal(podOf(store.record, K), 'default/web-b');
  assert.equal(await keeper.save(owned, addresses, desired('web-c', true), [K], 8500, false), false);
  await keeper.idle();
  assert.equal(podOf(store.record, K), 'default/web-c');
  assert.deepEqual(Object.keys(store.record?.virtualServers ?? {}), [K, K2]);
});

/** A store whose every write costs `costMs` of the fake clock's time (building and saving megabytes). */
class CostlyStore extends MemoryStateStore {
  constructor(
    private readonly clock: FakeClock,
    private readonly costMs: number,
  ) {
    super();
  }
  override async save(text: string): Promise<void> {
    await this.clock.advance(this.costMs);
    await super.save(text);
  }
}

test('with a clock: names are written behind the pass that changed them, coalesced, spaced by the write cost, and a timer writes what a pass left waiting', async () => {
  const clock = new FakeClock();
  const store = new CostlyStore(clock, 50);
  const keeper = new RecordKeeper(store, 10_000, clock);
  const web = vs('10.96.0.1', 80);
  const K = serviceKey(web);
  const owned = new CountingSet<string>();
  const addresses = new CountingSet<string>();
  const desired = (pod: string): DesiredState => state([desiredVs(web, [real('10.244.0.5', 9376, 1, pod)])], []);

  owned.add(K);
  assert.equal(await keeper.save(owned, addresses, desired('web-a'), [K], clock.now(), false), true);
  assert.equal(store.record?.writtenAt, clock.wall() - 50, 'the record says when it was written (as its text was made)');
  const written = store.saved.length;

  // Long after: a new pod is on disk once the write behind the pass lands, with no further pass.
  await clock.advance(5000);
  assert.equal(await keeper.save(owned, addresses, desired('web-b'), [K], clock.now(), false), false);
  await keeper.idle();
  assert.equal(podOf(store.record, K), 'default/web-b');
  assert.equal(store.saved.length, written + 1);

  // Two passes within ten times the last write's cost (50 ms): the first pass's change waits, the
  // second's joins it, and one write carries both when the gap has passed.
  await clock.advance(100);
  assert.equal(await keeper.save(owned, addresses, desired('web-c'), [K], clock.now(), false), false);
  assert.equal(await keeper.save(owned, addresses, desired('web-d'), [K], clock.now(), false), false);
  assert.equal(store.saved.length, written + 1, 'the rate bound holds the names back');
  assert.equal(clock.pending, 1, 'one timer for both');
  await clock.advance(500);
  await keeper.idle();
  assert.equal(store.saved.length, written + 2);
  assert.equal(podOf(store.record, K), 'default/web-d');

  // Unchanged resyncs write nothing and leave no timer behind.
  await clock.advance(60_000);
  for (let i = 0; i < 3; i++) assert.equal(await keeper.save(owned, addresses, desired('web-d'), undefined, clock.now(), false), false);
  await keeper.idle();
  assert.equal(store.saved.length, written + 2);
  assert.equal(clock.pending, 0);
});

test('with a clock: names held back by the rate bound are written at shutdown (idle)', async () => {
  const clock = new FakeClock();
  const store = new CostlyStore(clock, 1000);
  const keeper = new RecordKeeper(store, 10_000, clock);
  const web = vs('10.96.0.1', 80);
  const K = serviceKey(web);
  const owned = new CountingSet<string>([K]);
  const none = new CountingSet<string>();
  const desired = (pod: string): DesiredState => state([desiredVs(web, [real('10.244.0.5', 9376, 1, pod)])], []);
  await keeper.save(owned, none, desired('web-a'), [K], clock.now(), false);
  await keeper.save(owned, none, desired('web-b'), [K], clock.now(), false);
  assert.equal(podOf(store.record, K), 'default/web-a');
  await keeper.idle();
  assert.equal(podOf(store.record, K), 'default/web-b');
  assert.equal(clock.pending, 0);
});
