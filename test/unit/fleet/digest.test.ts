import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeIndependentDigester, nodeIndependentDigest } from '../../../src/fleet/digest.js';
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import type { DesiredRealServer, DesiredState, DesiredVirtualServer, ServiceRef } from '../../../src/model/types.js';

function real(address: string, extra: Partial<DesiredRealServer> = {}): DesiredRealServer {
  return { family: 'inet', address, port: 8080, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, terminating: false, ...extra };
}

function vs(kind: ServiceRef['kind'], address: string, port: number, reals: DesiredRealServer[], externalLocal = false): DesiredVirtualServer {
  return {
    service: { family: 'inet', protocol: 'TCP', address, port, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
    reals,
    owner: { namespace: 'default', name: 'web', portName: 'http', kind },
    externalLocal,
    sourceRanges: [],
  };
}

function state(list: DesiredVirtualServer[]): DesiredState {
  return { virtualServers: new Map(list.map((v) => [serviceKey(v.service), v])), addresses: new Map() };
}

const cluster = [real('10.244.1.5'), real('10.244.2.7')];

test('same state in any order, same digest; a 64-hex sha256', () => {
  const a = state([vs('ClusterIP', '10.96.0.20', 80, cluster), vs('LoadBalancer', '203.0.113.9', 80, cluster)]);
  const b = state([vs('LoadBalancer', '203.0.113.9', 80, [...cluster].reverse()), vs('ClusterIP', '10.96.0.20', 80, [...cluster].reverse())]);
  assert.match(nodeIndependentDigest(a), /^[0-9a-f]{64}$/);
  assert.equal(nodeIndependentDigest(a), nodeIndependentDigest(b));
});

test('NodePort virtual servers and externalLocal endpoints do not count; other changes do', () => {
  const base = [vs('ClusterIP', '10.96.0.20', 80, cluster), vs('LoadBalancer', '203.0.113.9', 80, [real('10.244.1.5')], true)];
  const d = nodeIndependentDigest(state(base));
  // node B: its own NodePort address and its own local endpoint
  const nodeB = [
    vs('ClusterIP', '10.96.0.20', 80, cluster),
    vs('LoadBalancer', '203.0.113.9', 80, [real('10.244.2.7')], true),
    vs('NodePort', '192.168.0.12', 30080, cluster),
  ];
  assert.equal(nodeIndependentDigest(state(nodeB)), d);

  const changedEndpoint = [vs('ClusterIP', '10.96.0.20', 80, [real('10.244.1.5')]), base[1]];
  assert.notEqual(nodeIndependentDigest(state(changedEndpoint)), d);
  const changedWeight = [vs('ClusterIP', '10.96.0.20', 80, [real('10.244.1.5'), real('10.244.2.7', { weight: 0, terminating: true })]), base[1]];
  assert.notEqual(nodeIndependentDigest(state(changedWeight)), d);
  const sched = vs('ClusterIP', '10.96.0.20', 80, cluster);
  sched.service = { ...sched.service, scheduler: 'wlc' };
  assert.notEqual(nodeIndependentDigest(state([sched, base[1]])), d);
  const lbGone = [base[0]];
  assert.notEqual(nodeIndependentDigest(state(lbGone)), d, 'the Local LB virtual server itself is node-independent');
});

test('nodeLocalReals leaves out reals filtered per node (internalTrafficPolicy Local, topology)', () => {
  const a = state([vs('ClusterIP', '10.96.0.30', 53, [real('10.244.1.5')])]);
  const b = state([vs('ClusterIP', '10.96.0.30', 53, [real('10.244.2.7')])]);
  assert.notEqual(nodeIndependentDigest(a), nodeIndependentDigest(b));
  const local = (v: DesiredVirtualServer): DesiredVirtualServer => ({ ...v, nodeLocalReals: true });
  const la = state([...a.virtualServers.values()].map(local));
  const lb = state([...b.virtualServers.values()].map(local));
  assert.equal(nodeIndependentDigest(la), nodeIndependentDigest(lb));
  assert.notEqual(nodeIndependentDigest(la), nodeIndependentDigest(a), 'the flag itself is part of the row');
});

test('the caching digester gives nodeIndependentDigest through a run of states, objects kept or replaced', () => {
  const digester = new NodeIndependentDigester();
  const web = vs('ClusterIP', '10.96.0.20', 80, cluster);
  const lb = vs('LoadBalancer', '203.0.113.9', 80, [real('10.244.1.5')], true);
  const np = vs('NodePort', '192.168.0.12', 30080, cluster);
  const dns = vs('ClusterIP', '10.96.0.10', 53, [real('10.244.3.3')]);
  const runs = [
    [],
    [web],
    [web, lb, np],
    [web, lb, np, dns],
    // The model replaces an object when it changes: a new endpoint, the others kept.
    [vs('ClusterIP', '10.96.0.20', 80, [...cluster, real('10.244.9.9')]), lb, np, dns],
    [web, dns],
    [dns],
  ];
  const seen = new Set<string>();
  for (const list of runs) {
    const st = state(list);
    assert.equal(digester.digest(st), nodeIndependentDigest(st), list.map((v) => serviceKey(v.service)).join(' '));
    seen.add(digester.digest(st));
  }
  assert.equal(seen.size, runs.length, 'every state in the run has its own digest');
});
