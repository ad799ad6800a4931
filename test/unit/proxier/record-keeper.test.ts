// The state record's writer: ownership changes are written at once (crash safety), however they
// are made, while a pass that changed no ownership compares nothing and writes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountingSet } from '../../../src/proxier/ownership.js';
import { RecordKeeper } from '../../../src/proxier/record-keeper.js';
import { MemoryStateStore } from '../../../src/proxier/state-record.js';

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
