// `status --names` right after a change: the agent's record and the view agree on what is known.
// The agent's proxier programs a new endpoint over the fakes; the view is then built from the
// record as the status command reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownershipFromRecord } from '../../../src/cli/status-command.js';
import { formatNamedList } from '../../../src/status/names-view.js';
import { change, desiredVs, noChange, real, seed, state, world } from '../proxier/helpers.js';

const info = { version: '1.2.1', connTableSize: 4096 };
const list = { view: 'list', exact: false, sort: true } as const;

test('a real server added by an endpoint change is named by the record as soon as the pass that programmed it is done', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  const v = s.virtualServers.get('TCP/10.96.0.10/80')!;
  const next = state([desiredVs(v.service, [...v.reals, real('10.244.1.4', 9376, 1, 'web-4')])], ['10.96.0.10']);
  const before = w.store.saved.length;
  const r = await p.sync(change(s, next));
  assert.equal(r.kernelWrites, 1);
  await p.settled();
  assert.equal(w.store.saved.length, before + 1, 'one record write for the pass');
  const out = formatNamedList(info, await w.ipvs.dump(), ownershipFromRecord(w.store.record!, w.clock.wall()), list);
  assert.match(out, /-> 10\.244\.1\.4:9376 .*# pod default\/web-4$/m);
  assert.doesNotMatch(out, /record/);
});

test('a real server the record does not list yet is labelled with the age of the record, not as unknown', async () => {
  const w = world();
  const p = w.proxier();
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  await p.settled();
  const record = w.store.record!;
  // The table moves on (here by hand, as a pass would before its record write lands) and the
  // view is read 7 s after the record was written.
  const v = s.virtualServers.get('TCP/10.96.0.10/80')!;
  const { family, address, port, forward, weight, upperThreshold, lowerThreshold } = real('10.244.1.9');
  await w.ipvs.apply([{ op: 'addReal', service: v.service, real: { family, address, port, forward, weight, upperThreshold, lowerThreshold } }]);
  await w.clock.advance(7000);
  const out = formatNamedList(info, await w.ipvs.dump(), ownershipFromRecord(record, w.clock.wall()), list);
  assert.match(out, /-> 10\.244\.1\.9:9376 .*# programmed after the agent's last record write \(7 s ago\)$/m);
  assert.match(out, /-> 10\.244\.1\.1:9376 .*# pod default\/web-1$/m);
});
