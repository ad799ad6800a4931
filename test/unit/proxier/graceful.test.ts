import { test } from 'node:test';
import assert from 'node:assert/strict';
import { change, desiredVs, noChange, real, state, table, vs, world } from './helpers.js';

const tcp = vs('10.96.0.10', 80);
const udp = vs('10.96.0.53', 53, 'UDP');

function three(service = tcp, port = 9376) {
  return state([desiredVs(service, [real('10.244.1.1', port), real('10.244.1.2', port), real('10.244.1.3', port)])], [service.address!]);
}
function two(service = tcp, port = 9376) {
  return state([desiredVs(service, [real('10.244.1.1', port), real('10.244.1.2', port)])], [service.address!]);
}

test('TCP: a removed real server goes to weight 0, then is deleted when its connections reach 0', async () => {
  const w = world();
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 2, 1);
  const b = two();
  const r = await p.sync(change(a, b));
  assert.equal(r.kernelWrites, 1);
  assert.deepEqual((await table(w.ipvs)).slice(1), ['  -> 10.244.1.1:9376 w1', '  -> 10.244.1.2:9376 w1', '  -> 10.244.1.3:9376 w0']);
  assert.equal(p.nextDrainCheckAt(), w.clock.now() + 1000);
  await w.clock.advance(1000);
  const busy = await p.drainCheck();
  assert.equal(busy.kernelWrites, 0);
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 0, 0);
  const done = await p.drainCheck();
  assert.equal(done.kernelWrites, 1);
  assert.equal(done.realServers, 2);
  assert.deepEqual((await table(w.ipvs)).slice(1), ['  -> 10.244.1.1:9376 w1', '  -> 10.244.1.2:9376 w1']);
  assert.equal(p.nextDrainCheckAt(), undefined);
});

test('TCP: the drain ends at the graceful termination timeout even with connections left', async () => {
  const w = world({ gracefulTerminationTimeoutMs: 5000 });
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 5, 0);
  await p.sync(change(a, two()));
  await w.clock.advance(4999);
  assert.equal((await p.drainCheck()).kernelWrites, 0);
  await w.clock.advance(1);
  assert.equal((await p.drainCheck()).kernelWrites, 1);
  assert.equal((await w.ipvs.dump())[0].reals.length, 2);
});

test('TCP: a real server that comes back during the drain gets its weight back', async () => {
  const w = world();
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 1, 0);
  const b = two();
  await p.sync(change(a, b));
  const back = await p.sync(change(b, a));
  assert.equal(back.kernelWrites, 1);
  assert.equal(p.nextDrainCheckAt(), undefined);
  assert.deepEqual((await table(w.ipvs)).slice(1), ['  -> 10.244.1.1:9376 w1', '  -> 10.244.1.2:9376 w1', '  -> 10.244.1.3:9376 w1']);
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 0, 0);
  await w.clock.advance(60_000);
  assert.equal((await p.drainCheck()).kernelWrites, 0);
  assert.equal((await w.ipvs.dump())[0].reals.length, 3);
});

test('TCP: a verification finishes drains its dump shows idle, and a restart keeps draining without a write', async () => {
  const w = world();
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 1, 0);
  const b = two();
  await p.sync(change(a, b));
  // Restart in the middle of the drain: the weight-0 real server is drained, not re-written.
  const q = w.proxier();
  await q.start(b);
  const first = await q.sync(noChange(b));
  assert.equal(first.kernelWrites, 0);
  assert.notEqual(q.nextDrainCheckAt(), undefined);
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 0, 0);
  const v = await q.verify(b);
  assert.equal(v.kernelWrites, 1);
  assert.equal(v.realServers, 2);
});

test('UDP: a removed real server is deleted at once and its conntrack entries flushed', async () => {
  const w = world();
  const p = w.proxier();
  const a = three(udp, 53);
  await p.start(a);
  await p.sync(noChange(a));
  const r = await p.sync(change(a, two(udp, 53)));
  // one netlink delete + one conntrack run
  assert.equal(r.kernelWrites, 2);
  assert.deepEqual(w.conntrack.flushed, [{ protocol: 'UDP', address: '10.244.1.3', port: 53 }]);
  assert.equal((await w.ipvs.dump())[0].reals.length, 2);
  assert.equal(p.nextDrainCheckAt(), undefined);
});

test('a conntrack failure is a named per-object error, the deletion stands', async () => {
  const w = world();
  w.conntrack.flush = async () => {
    throw Object.assign(new Error('conntrack: not found'), { code: 'ENOENT' });
  };
  const p = w.proxier();
  const a = three(udp, 53);
  await p.start(a);
  await p.sync(noChange(a));
  const r = await p.sync(change(a, two(udp, 53)));
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0].operation, 'conntrack flush');
  assert.match(r.errors[0].object, /real server 10\.244\.1\.3\/53/);
  assert.equal((await w.ipvs.dump())[0].reals.length, 2);
});

test('graceful termination timeout 0 deletes TCP real servers at once', async () => {
  const w = world({ gracefulTerminationTimeoutMs: 0 });
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  const r = await p.sync(change(a, two()));
  assert.equal(r.kernelWrites, 1);
  assert.equal((await w.ipvs.dump())[0].reals.length, 2);
  assert.deepEqual(w.conntrack.flushed, []);
});

test('deleting a service with a draining real server forgets the drain', async () => {
  const w = world();
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 1, 0);
  const b = two();
  await p.sync(change(a, b));
  const gone = state([], []);
  await p.sync(change(b, gone));
  assert.equal(w.ipvs.size, 0);
  assert.equal(p.nextDrainCheckAt(), undefined);
});

test('drain checks read only the draining services when the client can dump one service', async () => {
  const w = world();
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 1, 0);
  await p.sync(change(a, two()));
  const fullDumps = w.ipvs.dumps;
  assert.equal((await p.drainCheck()).kernelWrites, 0);
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 0, 0);
  assert.equal((await p.drainCheck()).kernelWrites, 1);
  assert.equal(w.ipvs.dumps, fullDumps, 'no full dump');
  assert.equal(w.ipvs.realDumps, 2);
});

test('a real server deleted by hand during its drain is forgotten without a write', async () => {
  const w = world();
  const p = w.proxier();
  const a = three();
  await p.start(a);
  await p.sync(noChange(a));
  w.ipvs.setConnections(tcp, { address: '10.244.1.3', port: 9376 }, 1, 0);
  await p.sync(change(a, two()));
  await w.ipvs.apply([{ op: 'deleteReal', service: tcp, real: real('10.244.1.3') }]);
  const r = await p.drainCheck();
  assert.equal(r.kernelWrites, 0);
  assert.deepEqual(r.errors, []);
  assert.equal(p.nextDrainCheckAt(), undefined);
});
