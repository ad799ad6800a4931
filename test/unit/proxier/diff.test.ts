import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffAddresses, diffVirtualServers, planStages, type AppliedTable } from '../../../src/proxier/diff.js';
import { realKey } from '../../../src/vocabulary/ipvs-keys.js';
import { desiredVs, real, state, vs } from './helpers.js';

const always = { mayTouch: () => true, isDraining: () => false, gracefulTcp: true };

function applied(...entries: [ReturnType<typeof vs>, ReturnType<typeof real>[]][]): AppliedTable {
  const t: AppliedTable = new Map();
  for (const [service, reals] of entries) {
    t.set(`${service.protocol}/${service.address}/${service.port}`, {
      service,
      reals: new Map(
        reals.map((r) => [
          realKey(r),
          { family: r.family, address: r.address, port: r.port, forward: r.forward, weight: r.weight, upperThreshold: 0, lowerThreshold: 0 },
        ]),
      ),
    });
  }
  return t;
}

test('ordered batches: new services, their reals, updates, stale reals, stale services', () => {
  const desired = state(
    [
      desiredVs(vs('10.96.0.1', 80), [real('10.244.0.1')]),
      desiredVs(vs('10.96.0.2', 80, 'TCP', { scheduler: 'wrr' }), [real('10.244.0.2', 9376, 3)]),
      desiredVs(vs('10.96.0.4', 53, 'UDP'), [real('10.244.0.4', 53)]),
    ],
    [],
  );
  const have = applied(
    [vs('10.96.0.2', 80), [real('10.244.0.2'), real('10.244.0.9')]],
    [vs('10.96.0.3', 80), [real('10.244.0.3')]],
    [vs('10.96.0.4', 53, 'UDP'), [real('10.244.0.4', 53), real('10.244.0.5', 53)]],
  );
  const plan = diffVirtualServers(desired.virtualServers, have, always);
  const flat = planStages(plan)
    .flat()
    .map((p) => `${p.op.op} ${p.vsKey}${p.realKey ? ` ${p.realKey}` : ''}${p.intent === 'drain' ? ' drain' : ''}`);
  assert.deepEqual(flat, [
    'addService TCP/10.96.0.1/80',
    'addReal TCP/10.96.0.1/80 10.244.0.1/9376',
    'updateService TCP/10.96.0.2/80',
    'updateReal TCP/10.96.0.2/80 10.244.0.2/9376',
    'updateReal TCP/10.96.0.2/80 10.244.0.9/9376 drain',
    'deleteReal UDP/10.96.0.4/53 10.244.0.5/53',
    'deleteService TCP/10.96.0.3/80',
  ]);
});

test('incremental: only the given keys are compared', () => {
  const desired = state([desiredVs(vs('10.96.0.1', 80), [real('10.244.0.1')]), desiredVs(vs('10.96.0.2', 80), [real('10.244.0.2')])], []);
  const plan = diffVirtualServers(desired.virtualServers, new Map(), { ...always, keys: ['TCP/10.96.0.2/80'] });
  assert.deepEqual(
    plan.addServices.map((p) => p.vsKey),
    ['TCP/10.96.0.2/80'],
  );
  assert.equal(diffVirtualServers(desired.virtualServers, new Map(), { ...always, keys: [] }).addServices.length, 0);
});

test('ownership filter: no operation on a key that may not be touched', () => {
  const desired = state([desiredVs(vs('10.96.0.1', 80), [real('10.244.0.1')])], []);
  const have = applied([vs('10.96.0.1', 80), [real('10.244.0.9')]], [vs('10.96.0.7', 80), []]);
  const plan = diffVirtualServers(desired.virtualServers, have, { ...always, mayTouch: () => false });
  assert.equal(planStages(plan).flat().length, 0);
  assert.deepEqual(plan.blocked, ['TCP/10.96.0.1/80']);
});

test('already-draining and weight-0 stale TCP reals make no write; a drained real wanted again is restored', () => {
  const desired = state([desiredVs(vs('10.96.0.1', 80), [real('10.244.0.1'), real('10.244.0.3')])], []);
  const have = applied([vs('10.96.0.1', 80), [real('10.244.0.1'), real('10.244.0.2'), real('10.244.0.3', 9376, 0), real('10.244.0.4', 9376, 0)]]);
  const draining = new Set(['TCP/10.96.0.1/80|10.244.0.2/9376', 'TCP/10.96.0.1/80|10.244.0.3/9376']);
  const plan = diffVirtualServers(desired.virtualServers, have, { ...always, isDraining: (k, r) => draining.has(`${k}|${r}`) });
  assert.deepEqual(
    planStages(plan)
      .flat()
      .map((p) => `${p.op.op} ${p.realKey} ${p.intent}`),
    ['updateReal 10.244.0.3/9376 restore'],
  );
  assert.deepEqual(plan.drainWithoutWrite, [{ vsKey: 'TCP/10.96.0.1/80', realKey: '10.244.0.4/9376' }]);
});

test('addresses: bind missing, unbind stale, skip those on other links and untouchable ones', () => {
  const desired = state([], ['10.96.0.1', '10.96.0.2', '192.168.1.10', '10.96.5.5']).addresses;
  const have = new Map([
    ['10.96.0.2', { family: 'inet' as const, prefixLen: 32 }],
    ['10.96.0.9', { family: 'inet' as const, prefixLen: 32 }],
  ]);
  const plan = diffAddresses(desired, have, { mayTouch: (a) => a !== '10.96.5.5', onOtherLinks: new Set(['192.168.1.10']) });
  assert.deepEqual(
    plan.add.map((a) => a.address),
    ['10.96.0.1'],
  );
  assert.deepEqual(
    plan.remove.map((a) => a.address),
    ['10.96.0.9'],
  );
  assert.deepEqual(plan.elsewhere, ['192.168.1.10']);
  assert.deepEqual(plan.blocked, ['10.96.5.5']);
});
