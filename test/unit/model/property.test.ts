// Random sequences of service, slice and node changes: after every take the incremental state
// equals the from-scratch state, the reported changes are exactly the differences, and only the
// services a change touched were recomputed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { SourceEvent } from '../../../src/vocabulary/source.js';
import type { LinkAddress } from '../../../src/vocabulary/addresses.js';
import { sameDesiredVirtualServer } from '../../../src/model/compute.js';
import { computeFromScratch, ServiceModel } from '../../../src/model/service-model.js';
import type { DesiredVirtualServer } from '../../../src/model/types.js';
import { config, ep, link, node, NODE, service, slice } from './builders.js';
import { snapshot } from './harness.js';

/** mulberry32: small, seedable, good enough to explore. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const NAMESPACES = ['default', 'prod'];

class World {
  readonly services = new Map<string, V1Service>();
  readonly slices = new Map<string, V1EndpointSlice>();
  node: V1Node | undefined;
  links: LinkAddress[] = [];
  constructor(private readonly rnd: () => number) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  randomService(ns: string, name: string, index: number): V1Service {
    const v6 = this.chance(0.3);
    const clusterIPs = v6 ? [`10.0.${index}.1`, `fd00::${index + 1}`] : [`10.0.${index}.1`];
    const ports = this.chance(0.5)
      ? [{ name: '', port: this.pick([80, 443]), protocol: this.pick(['TCP', 'UDP']), nodePort: 30000 + index }]
      : [
          { name: 'a', port: 80, nodePort: 30100 + index },
          { name: 'b', port: this.pick([81, 0, 70000]), protocol: this.pick(['TCP', 'SCTP', 'ICMP']) },
        ];
    const spec: Record<string, unknown> = {};
    if (this.chance(0.3)) spec.externalTrafficPolicy = 'Local';
    if (this.chance(0.3)) spec.internalTrafficPolicy = 'Local';
    if (this.chance(0.3)) spec.sessionAffinity = 'ClientIP';
    if (this.chance(0.2)) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: this.pick([30, 0, 999999]) } };
    const annotations = this.chance(0.2) ? { 'ipvs-proxy.io/scheduler': this.pick(['sh', 'mh', 'bogus']) } : undefined;
    return service(name, {
      namespace: ns,
      type: this.pick(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']),
      clusterIPs: this.chance(0.05) ? ['None'] : clusterIPs,
      ports,
      // A small pool of external and LB IPs makes conflicts between services frequent.
      externalIPs: this.chance(0.4) ? [this.pick(['203.0.113.1', '203.0.113.2', 'bad-ip'])] : undefined,
      lbIngress: this.chance(0.4) ? [{ ip: this.pick(['198.51.100.1', '203.0.113.1']), ipMode: this.pick([undefined, 'Proxy']) }] : undefined,
      created: this.pick(['2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z']),
      annotations,
      spec,
    });
  }

  randomSlice(ns: string, name: string): V1EndpointSlice {
    const v6 = this.chance(0.25);
    const count = Math.floor(this.rnd() * 4);
    const hinted = this.chance(0.3);
    const endpoints = Array.from({ length: count }, () => {
      const n = Math.floor(this.rnd() * 5);
      return ep(v6 ? `fd01::${n + 1}` : `10.1.0.${n + 1}`, {
        ready: this.pick([true, false, null]),
        serving: this.pick([true, false, undefined]),
        terminating: this.pick([true, false, undefined]),
        nodeName: this.pick([NODE, 'node-b', undefined]),
        zones: hinted ? [this.pick(['z1', 'z2'])] : undefined,
      });
    });
    const ports = this.pick([
      [{ name: '', port: 8080 }],
      [
        { name: 'a', port: 8080 },
        { name: 'b', port: 8081, protocol: 'SCTP' },
      ],
      [{ name: 'a', port: 0 }],
    ]);
    return slice(name, this.chance(0.1) ? undefined : this.pick(NAMES), endpoints, ports, { namespace: ns, addressType: v6 ? 'IPv6' : 'IPv4' });
  }

  /** One random change, applied to the world; returns its event and the services it touches. */
  step(): { event?: SourceEvent; touched: string[]; nodeWide: boolean; links?: LinkAddress[] } {
    const r = this.rnd();
    const ns = this.pick(NAMESPACES);
    if (r < 0.35) {
      const name = this.pick(NAMES);
      const id = `${ns}/${name}`;
      if (this.services.has(id) && this.chance(0.25)) {
        this.services.delete(id);
        return { event: { kind: 'Service', type: 'delete', namespace: ns, name }, touched: [id], nodeWide: false };
      }
      const object = this.randomService(ns, name, NAMES.indexOf(name) + (ns === 'prod' ? 10 : 0));
      this.services.set(id, object);
      return { event: { kind: 'Service', type: 'upsert', object }, touched: [id], nodeWide: false };
    }
    if (r < 0.85) {
      const name = `s${Math.floor(this.rnd() * 8)}`;
      const id = `${ns}/${name}`;
      const before = this.slices.get(id)?.metadata?.labels?.['kubernetes.io/service-name'];
      const touched = before !== undefined ? [`${ns}/${before}`] : [];
      if (this.slices.has(id) && this.chance(0.25)) {
        this.slices.delete(id);
        return { event: { kind: 'EndpointSlice', type: 'delete', namespace: ns, name }, touched, nodeWide: false };
      }
      const object = this.randomSlice(ns, name);
      const after = object.metadata?.labels?.['kubernetes.io/service-name'];
      if (after !== undefined) touched.push(`${ns}/${after}`);
      this.slices.set(id, object);
      return { event: { kind: 'EndpointSlice', type: 'upsert', object }, touched, nodeWide: false };
    }
    if (r < 0.93) {
      this.node = node({ zone: this.pick(['z1', 'z2', undefined]), internalIPs: ['192.168.1.10'] });
      return { event: { kind: 'Node', type: 'upsert', object: this.node }, touched: [], nodeWide: true };
    }
    const pool = [
      link('eth0', '192.168.1.10'),
      link('eth0', 'fd00:1::10'),
      link('eth1', '172.16.0.1', 3),
      link('kube-ipvs0', '10.0.0.1', 9),
      link('lo', '127.0.0.1', 1),
    ];
    this.links = pool.filter(() => this.chance(0.6));
    return { touched: [], nodeWide: true, links: this.links };
  }
}

function diffKeys<V>(a: Map<string, V>, b: Map<string, V>, same: (x: V, y: V) => boolean): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of a) if (!b.has(k) || !same(v, b.get(k) as V)) out.add(k);
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return out;
}

function run(seed: number, steps: number, nodePortAddresses: string[]): void {
  const rnd = prng(seed);
  const world = new World(rnd);
  const cfg = config({ nodePortAddresses });
  const model = new ServiceModel(cfg);
  let before = new Map<string, DesiredVirtualServer>();
  let beforeAddrs = new Set<string>();
  for (let i = 0; i < steps; i++) {
    const batch = 1 + Math.floor(rnd() * 3);
    const touched = new Set<string>();
    let nodeWide = false;
    for (let j = 0; j < batch; j++) {
      const s = world.step();
      if (s.event) model.apply([s.event]);
      if (s.links) model.setNodeAddresses(s.links);
      for (const t of s.touched) touched.add(t);
      nodeWide ||= s.nodeWide;
    }
    const change = model.takeChanges();
    const scratch = computeFromScratch({
      config: cfg,
      services: [...world.services.values()],
      slices: [...world.slices.values()],
      node: world.node,
      nodeAddresses: world.links,
    });
    const where = `seed ${seed} step ${i}`;
    assert.deepEqual(snapshot(change.state), snapshot(scratch.state), `${where}: incremental differs from scratch`);
    assert.deepEqual(model.noLocalEndpoints(), scratch.noLocalEndpoints, `${where}: noLocalEndpoints`);
    const after = new Map(change.state.virtualServers);
    const afterAddrs = new Set(change.state.addresses.keys());
    assert.deepEqual(
      [...change.changedVirtualServers].sort(),
      [...diffKeys(before, after, sameDesiredVirtualServer)].sort(),
      `${where}: changedVirtualServers`,
    );
    const addrDiff = [...beforeAddrs].filter((a) => !afterAddrs.has(a)).concat([...afterAddrs].filter((a) => !beforeAddrs.has(a)));
    assert.deepEqual([...change.changedAddresses].sort(), addrDiff.sort(), `${where}: changedAddresses`);
    if (!nodeWide) {
      for (const id of model.recomputeStats().lastTake) assert.ok(touched.has(id), `${where}: ${id} recomputed but not touched`);
    }
    before = after;
    beforeAddrs = afterAddrs;
  }
}

describe('incremental model == from-scratch computation', () => {
  for (let seed = 1; seed <= 25; seed++) {
    it(`seed ${seed}`, () => run(seed, 150, seed % 3 === 0 ? ['primary', '172.16.0.0/12'] : []));
  }
});
