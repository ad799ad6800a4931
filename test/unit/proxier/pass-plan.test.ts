import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realKey, serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import type { VirtualServer } from '../../../src/vocabulary/ipvs.js';
import type { DesiredState } from '../../../src/model/types.js';
import type { AppliedAddress, AppliedTable } from '../../../src/proxier/diff.js';
import type { DrainEntry } from '../../../src/proxier/graceful.js';
import { CidrSet, Ownership } from '../../../src/proxier/ownership.js';
import { planPass, type PassInputs } from '../../../src/proxier/pass-plan.js';
import { desiredVs, real, state, vs } from './helpers.js';

const web = vs('10.96.0.10', 80);
const dns = vs('10.96.0.53', 53, 'UDP');
const webKey = serviceKey(web);
const dnsKey = serviceKey(dns);

function appliedOf(entries: [VirtualServer, ReturnType<typeof real>[]][]): AppliedTable {
  const t: AppliedTable = new Map();
  for (const [service, reals] of entries) {
    t.set(serviceKey(service), {
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

function addressesOf(...addresses: string[]): Map<string, AppliedAddress> {
  return new Map(addresses.map((a) => [a, { family: 'inet', prefixLen: 32 }]));
}

function inputs(s: DesiredState, over: Partial<PassInputs> = {}): PassInputs {
  return {
    state: s,
    vsKeys: undefined,
    addrKeys: undefined,
    applied: new Map(),
    appliedAddresses: new Map(),
    onOtherLinks: new Set(),
    ownership: new Ownership(new CidrSet([])),
    isDraining: () => false,
    gracefulTcp: true,
    due: [],
    ...over,
  };
}

const opsOf = (ops: readonly { op: { op: string }; vsKey: string; realKey?: string }[]): string[] =>
  ops.map((p) => `${p.op.op} ${p.vsKey}${p.realKey ? ` ${p.realKey}` : ''}`);

test('a cold full pass claims every key it creates, binds every VIP, and runs iptables (everything) before IPVS', () => {
  const s = state([desiredVs(web, [real('10.244.0.1')]), desiredVs(dns, [real('10.244.0.2', 53)])], ['10.96.0.10', '10.96.0.53']);
  const plan = planPass(inputs(s));
  assert.deepEqual(plan.claims, { virtualServers: [webKey, dnsKey], addresses: ['10.96.0.10', '10.96.0.53'] });
  assert.deepEqual(opsOf(plan.ipvs.addServices), [`addService ${webKey}`, `addService ${dnsKey}`]);
  assert.deepEqual(opsOf(plan.ipvs.addReals), [`addReal ${webKey} 10.244.0.1/9376`, `addReal ${dnsKey} 10.244.0.2/53`]);
  assert.deepEqual(
    plan.addresses.add.map((a) => a.address),
    ['10.96.0.10', '10.96.0.53'],
  );
  assert.deepEqual(plan.iptables, { sync: true, changed: undefined, first: true });
  assert.deepEqual(plan.staleDrains, []);
});

test('an incremental pass over owned keys claims nothing, syncs iptables for its keys only, beside IPVS', () => {
  const s = state([desiredVs(web, [real('10.244.0.1'), real('10.244.0.2')])], ['10.96.0.10']);
  const ownership = new Ownership(new CidrSet([]));
  ownership.claim({ virtualServers: [webKey], addresses: ['10.96.0.10'] });
  const applied = appliedOf([[web, [real('10.244.0.1')]]]);
  const vsKeys = new Set([webKey]);
  const addrKeys = new Set<string>();
  const plan = planPass(inputs(s, { vsKeys, addrKeys, applied, appliedAddresses: addressesOf('10.96.0.10'), ownership }));
  assert.deepEqual(plan.claims, { virtualServers: [], addresses: [] });
  assert.deepEqual(opsOf(plan.ipvs.addReals), [`addReal ${webKey} 10.244.0.2/9376`]);
  assert.equal(plan.ipvs.addServices.length, 0);
  assert.deepEqual(plan.iptables, { sync: true, changed: { virtualServers: vsKeys, addresses: addrKeys }, first: false });
});

test('a key owned by the record but gone from the kernel is re-created without a new claim', () => {
  const s = state([desiredVs(web, [real('10.244.0.1')])], []);
  const ownership = new Ownership(new CidrSet([]));
  ownership.claim({ virtualServers: [webKey] });
  const plan = planPass(inputs(s, { ownership }));
  assert.deepEqual(opsOf(plan.ipvs.addServices), [`addService ${webKey}`]);
  assert.deepEqual(plan.claims.virtualServers, []);
});

test('an incremental pass with no changed keys plans nothing and leaves iptables alone', () => {
  const s = state([desiredVs(web, [real('10.244.0.1')])], ['10.96.0.10']);
  const plan = planPass(inputs(s, { vsKeys: new Set(), addrKeys: new Set(), applied: appliedOf([[web, [real('10.244.0.9')]]]) }));
  assert.equal(plan.iptables.sync, false);
  assert.deepEqual([plan.ipvs.addServices, plan.ipvs.addReals, plan.ipvs.updates, plan.ipvs.deleteReals, plan.ipvs.deleteServices].flat(), []);
  assert.deepEqual(plan.addresses.add, []);
});

test('foreign and excluded keys are blocked, never claimed, never written', () => {
  const s = state([desiredVs(web, [real('10.244.0.1')]), desiredVs(dns, [real('10.244.0.2', 53)])], ['10.96.0.10', '10.96.0.53']);
  const ownership = new Ownership(new CidrSet(['10.96.0.53/32']));
  ownership.adoptVirtualServers([], [webKey]);
  ownership.adoptAddresses([], ['10.96.0.10']);
  const plan = planPass(inputs(s, { ownership }));
  assert.deepEqual(plan.ipvs.blocked.sort(), [dnsKey, webKey].sort());
  assert.deepEqual(plan.addresses.blocked.sort(), ['10.96.0.10', '10.96.0.53']);
  assert.deepEqual(plan.claims, { virtualServers: [], addresses: [] });
  assert.deepEqual([plan.ipvs.addServices, plan.ipvs.addReals].flat(), []);
  assert.equal(plan.iptables.first, false);
});

test('due drains: deleted when still applied, skipped when wanted again, forgotten when already gone', () => {
  const svc = { family: 'inet', protocol: 'TCP', address: web.address, port: web.port } as DrainEntry['service'];
  const drain = (address: string): DrainEntry => ({
    vsKey: webKey,
    realKey: `${address}/9376`,
    service: svc,
    real: { family: 'inet', address, port: 9376 },
    deadline: 0,
  });
  const s = state([desiredVs(web, [real('10.244.0.1'), real('10.244.0.2')])], []);
  const applied = appliedOf([[web, [real('10.244.0.1'), real('10.244.0.2'), real('10.244.0.3')]]]);
  const ownership = new Ownership(new CidrSet([]));
  ownership.claim({ virtualServers: [webKey] });
  const draining = new Set(['10.244.0.2/9376', '10.244.0.3/9376', '10.244.0.4/9376']);
  const plan = planPass(
    inputs(s, {
      vsKeys: new Set(),
      addrKeys: new Set(),
      applied,
      ownership,
      isDraining: (_k, rk) => draining.has(rk),
      due: [drain('10.244.0.2'), drain('10.244.0.3'), drain('10.244.0.4')],
    }),
  );
  assert.deepEqual(opsOf(plan.ipvs.deleteReals), [`deleteReal ${webKey} 10.244.0.3/9376`]);
  assert.deepEqual(plan.staleDrains, [{ vsKey: webKey, realKey: '10.244.0.4/9376' }]);
});

test('planPass changes none of its inputs', () => {
  const s = state([desiredVs(dns, [real('10.244.0.2', 53)])], ['10.96.0.53']);
  const applied = appliedOf([[web, [real('10.244.0.1')]]]);
  const appliedAddresses = addressesOf('10.96.0.10');
  const ownership = new Ownership(new CidrSet([]));
  ownership.claim({ virtualServers: [webKey], addresses: ['10.96.0.10'] });
  const before = {
    applied: [...applied.keys()],
    reals: [...(applied.get(webKey)?.reals.keys() ?? [])],
    addrs: [...appliedAddresses.keys()],
    changes: ownership.virtualServers.changes + ownership.addresses.changes,
  };
  const plan = planPass(inputs(s, { applied, appliedAddresses, ownership }));
  assert.deepEqual(opsOf(plan.ipvs.deleteServices), [`deleteService ${webKey}`]);
  assert.deepEqual(
    plan.addresses.remove.map((a) => a.address),
    ['10.96.0.10'],
  );
  assert.deepEqual(plan.claims, { virtualServers: [dnsKey], addresses: ['10.96.0.53'] });
  const after = {
    applied: [...applied.keys()],
    reals: [...(applied.get(webKey)?.reals.keys() ?? [])],
    addrs: [...appliedAddresses.keys()],
    changes: ownership.virtualServers.changes + ownership.addresses.changes,
  };
  assert.deepEqual(after, before);
  assert.deepEqual([...ownership.virtualServers], [webKey]);
});
