import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { ep, link, node, NODE, service, slice } from './builders.js';
import { assertWarning, desired, reals } from './harness.js';

const CIP = 'TCP/10.0.0.1/80';

describe('endpoint selection', () => {
  const table: { name: string; slices: V1EndpointSlice[]; reals: string[] }[] = [
    { name: 'ready nil means ready', slices: [slice('s1', 'web', [ep('10.1.0.1', { ready: null })])], reals: ['10.1.0.1/8080'] },
    { name: 'not ready is left out', slices: [slice('s1', 'web', [ep('10.1.0.1'), ep('10.1.0.2', { ready: false })])], reals: ['10.1.0.1/8080'] },
    {
      name: 'serving+terminating only when nothing is ready',
      slices: [slice('s1', 'web', [ep('10.1.0.1', { ready: false, serving: true, terminating: true }), ep('10.1.0.2')])],
      reals: ['10.1.0.2/8080'],
    },
    {
      name: 'serving+terminating fallback, marked terminating',
      slices: [
        slice('s1', 'web', [
          ep('10.1.0.1', { ready: false, serving: true, terminating: true }),
          ep('10.1.0.2', { ready: false, serving: false, terminating: true }),
          ep('10.1.0.3', { ready: false }),
        ]),
      ],
      reals: ['10.1.0.1/8080 terminating'],
    },
    {
      name: 'merged across slices and de-duplicated, the ready copy wins',
      slices: [
        slice('s1', 'web', [ep('10.1.0.1'), ep('10.1.0.2', { ready: false, serving: true, terminating: true })]),
        slice('s2', 'web', [ep('10.1.0.2'), ep('10.1.0.3'), ep('10.1.0.1')]),
      ],
      reals: ['10.1.0.1/8080', '10.1.0.2/8080', '10.1.0.3/8080'],
    },
    {
      name: 'port matched by name and protocol',
      slices: [
        slice(
          's1',
          'web',
          [ep('10.1.0.1')],
          [
            { name: 'metrics', port: 9090 },
            { name: '', port: 8081, protocol: 'UDP' },
            { name: '', port: 8080 },
          ],
        ),
      ],
      reals: ['10.1.0.1/8080'],
    },
    { name: 'a slice without the matching port gives nothing', slices: [slice('s1', 'web', [ep('10.1.0.1')], [{ name: 'other', port: 1 }])], reals: [] },
    { name: 'IPv6 slices do not feed an IPv4 virtual server', slices: [slice('s1', 'web', [ep('fd00::1')], undefined, { addressType: 'IPv6' })], reals: [] },
    { name: 'FQDN slices are ignored', slices: [slice('s1', 'web', [ep('a.example')], undefined, { addressType: 'FQDN' })], reals: [] },
    { name: 'slices of another service are ignored', slices: [slice('s1', 'api', [ep('10.1.0.1')])], reals: [] },
    { name: 'slices of another namespace are ignored', slices: [slice('s1', 'web', [ep('10.1.0.1')], undefined, { namespace: 'other' })], reals: [] },
    {
      name: 'headless-labelled slices are ignored',
      slices: [slice('s1', 'web', [ep('10.1.0.1')], undefined, { labels: { 'service.kubernetes.io/headless': '' } })],
      reals: [],
    },
    { name: 'only the first address of an endpoint is used', slices: [slice('s1', 'web', [ep(['10.1.0.1', '10.1.0.9'])])], reals: ['10.1.0.1/8080'] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const out = desired({ services: [service('web')], slices: t.slices });
      assert.deepEqual(reals(out.vs.get(CIP)), t.reals);
    });
  }

  it('real servers carry pod and node', () => {
    const out = desired({ services: [service('web')], slices: [slice('s1', 'web', [ep('10.1.0.1', { pod: 'web-1', nodeName: 'n2' })])] });
    const r = out.vs.get(CIP)?.reals[0];
    assert.deepEqual(r?.pod, { namespace: 'default', name: 'web-1' });
    assert.equal(r?.nodeName, 'n2');
    assert.equal(r?.terminating, false);
  });

  it('dual-stack: each family gets its own slices', () => {
    const out = desired({
      services: [service('web', { clusterIPs: ['10.0.0.1', 'fd00::1'] })],
      slices: [slice('v4', 'web', [ep('10.1.0.1')]), slice('v6', 'web', [ep('fd00:1::1')], undefined, { addressType: 'IPv6' })],
    });
    assert.deepEqual(reals(out.vs.get(CIP)), ['10.1.0.1/8080']);
    assert.deepEqual(reals(out.vs.get('TCP/fd00::1/80')), ['fd00:1::1/8080']);
  });
});

describe('traffic policies', () => {
  const local = ep('10.1.0.1', { nodeName: NODE });
  const remote = ep('10.1.0.2', { nodeName: 'node-b' });
  const np = (spec: Record<string, unknown>) =>
    service('web', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }], externalIPs: ['203.0.113.1'], spec });
  const links = [link('eth0', '192.168.1.10')];
  const NP = 'TCP/192.168.1.10/30080';
  const EXT = 'TCP/203.0.113.1/80';

  it('externalTrafficPolicy Local: external kinds use local endpoints, no SNAT; ClusterIP uses all', () => {
    const out = desired({ services: [np({ externalTrafficPolicy: 'Local' })], slices: [slice('s', 'web', [local, remote])], links });
    assert.deepEqual(reals(out.vs.get(NP)), ['10.1.0.1/8080']);
    assert.deepEqual(reals(out.vs.get(EXT)), ['10.1.0.1/8080']);
    assert.equal(out.vs.get(NP)?.externalLocal, true);
    assert.equal(out.vs.get(NP)?.nodeLocalReals, true);
    assert.deepEqual(reals(out.vs.get(CIP)), ['10.1.0.1/8080', '10.1.0.2/8080']);
    assert.equal(out.vs.get(CIP)?.externalLocal, false);
    assert.equal(out.vs.get(CIP)?.nodeLocalReals, undefined);
    assert.deepEqual(out.noLocal, { External: 0, Internal: 0 });
  });

  it('externalTrafficPolicy Local without local endpoints falls back to the cluster ones (#97081) and is counted', () => {
    const out = desired({ services: [np({ externalTrafficPolicy: 'Local' })], slices: [slice('s', 'web', [remote])], links });
    assert.deepEqual(reals(out.vs.get(NP)), ['10.1.0.2/8080']);
    assert.equal(out.vs.get(NP)?.externalLocal, true);
    assert.deepEqual(out.noLocal, { External: 1, Internal: 0 });
  });

  it('no endpoints anywhere is not counted as missing local endpoints', () => {
    const out = desired({ services: [np({ externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local' })], links });
    assert.deepEqual(out.noLocal, { External: 0, Internal: 0 });
  });

  it('internalTrafficPolicy Local: ClusterIP uses local endpoints; with none it has no real servers', () => {
    const withLocal = desired({ services: [np({ internalTrafficPolicy: 'Local' })], slices: [slice('s', 'web', [local, remote])], links });
    assert.deepEqual(reals(withLocal.vs.get(CIP)), ['10.1.0.1/8080']);
    assert.deepEqual(reals(withLocal.vs.get(NP)), ['10.1.0.1/8080', '10.1.0.2/8080']);
    // The fleet view expects other nodes to choose other real servers for the ClusterIP only.
    assert.equal(withLocal.vs.get(CIP)?.nodeLocalReals, true);
    assert.equal(withLocal.vs.get(NP)?.nodeLocalReals, undefined);
    const none = desired({ services: [np({ internalTrafficPolicy: 'Local' })], slices: [slice('s', 'web', [remote])], links });
    assert.deepEqual(reals(none.vs.get(CIP)), []);
    assert.deepEqual(none.noLocal, { External: 0, Internal: 1 });
  });

  it('local serving+terminating endpoints are used when no local one is ready', () => {
    const term = ep('10.1.0.3', { nodeName: NODE, ready: false, serving: true, terminating: true });
    const out = desired({ services: [np({ externalTrafficPolicy: 'Local' })], slices: [slice('s', 'web', [term, remote])], links });
    assert.deepEqual(reals(out.vs.get(NP)), ['10.1.0.3/8080 terminating']);
    assert.deepEqual(reals(out.vs.get(CIP)), ['10.1.0.2/8080']);
  });

  it('externalTrafficPolicy Local on a ClusterIP service with externalIPs: its externalIP servers get the local endpoints, no SNAT', () => {
    // kube-proxy treats such a service as externally accessible (TestOnlyLocalExternalIPs).
    const out = desired({
      services: [service('web', { spec: { externalTrafficPolicy: 'Local' }, externalIPs: ['203.0.113.1'] })],
      slices: [slice('s', 'web', [local, remote])],
    });
    assert.deepEqual(reals(out.vs.get(EXT)), ['10.1.0.1/8080']);
    assert.equal(out.vs.get(EXT)?.externalLocal, true);
    assert.equal(out.vs.get(EXT)?.nodeLocalReals, true);
    assert.deepEqual(reals(out.vs.get(CIP)), ['10.1.0.1/8080', '10.1.0.2/8080']);
    assert.equal(out.vs.get(CIP)?.externalLocal, false);
    assert.ok(!out.warnings.some((w) => w.field === 'spec.externalTrafficPolicy'), 'no warning: the policy applies');
    const fallback = desired({
      services: [service('web', { spec: { externalTrafficPolicy: 'Local' }, externalIPs: ['203.0.113.1'] })],
      slices: [slice('s', 'web', [remote])],
    });
    assert.deepEqual(reals(fallback.vs.get(EXT)), ['10.1.0.2/8080']);
    assert.deepEqual(fallback.noLocal, { External: 1, Internal: 0 });
  });

  it('externalTrafficPolicy Local on a ClusterIP service without externalIPs is ignored with a warning', () => {
    const out = desired({ services: [service('web', { spec: { externalTrafficPolicy: 'Local' } })], slices: [slice('s', 'web', [local, remote])] });
    assert.deepEqual(reals(out.vs.get(CIP)), ['10.1.0.1/8080', '10.1.0.2/8080']);
    assert.equal(out.vs.get(CIP)?.externalLocal, false);
    assertWarning(out.warnings, 'Service default/web', 'spec.externalTrafficPolicy');
  });
});

describe('topology', () => {
  const zoned = (addr: string, zones: string[] | undefined) => ep(addr, { zones });
  // byTopology: the hints chose the real servers, so other nodes rightly have others.
  const table: { name: string; zone?: string; endpoints: ReturnType<typeof ep>[]; reals: string[]; byTopology: boolean }[] = [
    {
      name: 'zone hints used when every endpoint has them',
      zone: 'z1',
      endpoints: [zoned('10.1.0.1', ['z1']), zoned('10.1.0.2', ['z2'])],
      reals: ['10.1.0.1/8080'],
      byTopology: true,
    },
    {
      name: 'ignored when one endpoint lacks hints',
      zone: 'z1',
      endpoints: [zoned('10.1.0.1', ['z1']), zoned('10.1.0.2', undefined)],
      reals: ['10.1.0.1/8080', '10.1.0.2/8080'],
      byTopology: false,
    },
    {
      name: 'ignored when no hint is for our zone',
      zone: 'z3',
      endpoints: [zoned('10.1.0.1', ['z1']), zoned('10.1.0.2', ['z2'])],
      reals: ['10.1.0.1/8080', '10.1.0.2/8080'],
      byTopology: false,
    },
    {
      name: 'ignored when the node has no zone label',
      endpoints: [zoned('10.1.0.1', ['z1']), zoned('10.1.0.2', ['z2'])],
      reals: ['10.1.0.1/8080', '10.1.0.2/8080'],
      byTopology: false,
    },
    {
      name: 'not-ready endpoints do not disable hints',
      zone: 'z1',
      endpoints: [zoned('10.1.0.1', ['z1']), ep('10.1.0.2', { ready: false })],
      reals: ['10.1.0.1/8080'],
      byTopology: true,
    },
    {
      name: 'node hints first',
      zone: 'z1',
      endpoints: [ep('10.1.0.1', { zones: ['z1'], nodes: ['node-b'] }), ep('10.1.0.2', { zones: ['z1'], nodes: [NODE] })],
      reals: ['10.1.0.2/8080'],
      byTopology: true,
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const out = desired({
        services: [service('web', { spec: { trafficDistribution: 'PreferClose' } })],
        slices: [slice('s', 'web', t.endpoints)],
        node: node({ zone: t.zone }),
      });
      assert.deepEqual(reals(out.vs.get(CIP)), t.reals);
      assert.equal(out.vs.get(CIP)?.nodeLocalReals, t.byTopology ? true : undefined);
    });
  }
});
