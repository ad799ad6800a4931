import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { config, ep, service, slice } from './builders.js';
import { ServiceModel } from '../../../src/model/service-model.js';
import { assertWarning, desired, reals } from './harness.js';

/** A healthy neighbour: whatever is wrong with the object under test must not affect it. */
const good = service('good', { clusterIPs: ['10.0.9.9'] });
const goodSlice = slice('good-1', 'good', [ep('10.9.0.1')]);

function withGarbage(svc: V1Service, patch: (s: Record<string, unknown>) => void): V1Service {
  const copy = structuredClone(svc) as unknown as Record<string, unknown>;
  patch(copy);
  return copy as unknown as V1Service;
}

describe('bad services: skipped or sanitised with a warning naming object and field', () => {
  const table: { name: string; svc: V1Service; field: string; keys: string[] }[] = [
    { name: 'no ports', svc: service('bad', { ports: [] }), field: 'spec.ports', keys: [] },
    {
      name: 'ports not a list',
      svc: withGarbage(service('bad'), (s) => {
        (s.spec as Record<string, unknown>).ports = 'eighty';
      }),
      field: 'spec.ports',
      keys: [],
    },
    {
      name: 'port 0 (the other port stays)',
      svc: service('bad', {
        ports: [
          { name: 'a', port: 0 },
          { name: 'b', port: 81 },
        ],
      }),
      field: 'spec.ports[0].port',
      keys: ['TCP/10.0.0.1/81'],
    },
    { name: 'port above 65535', svc: service('bad', { ports: [{ port: 70000 }] }), field: 'spec.ports[0].port', keys: [] },
    { name: 'port not a number', svc: service('bad', { ports: [{ port: '80' as unknown as number }] }), field: 'spec.ports[0].port', keys: [] },
    {
      name: 'unknown protocol',
      svc: service('bad', {
        ports: [
          { name: 'a', port: 80, protocol: 'ICMP' },
          { name: 'b', port: 80, protocol: 'UDP' },
        ],
      }),
      field: 'spec.ports[0].protocol',
      keys: ['UDP/10.0.0.1/80'],
    },
    {
      name: 'duplicate port',
      svc: service('bad', {
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 80 },
        ],
      }),
      field: 'spec.ports[1].port',
      keys: ['TCP/10.0.0.1/80'],
    },
    {
      name: 'duplicate port name',
      svc: service('bad', {
        ports: [
          { name: 'a', port: 80 },
          { name: 'a', port: 81 },
        ],
      }),
      field: 'spec.ports[1].name',
      keys: ['TCP/10.0.0.1/80'],
    },
    {
      name: 'invalid nodePort keeps the cluster port',
      svc: service('bad', { type: 'NodePort', ports: [{ port: 80, nodePort: 99999 }] }),
      field: 'spec.ports[0].nodePort',
      keys: ['TCP/10.0.0.1/80'],
    },
    { name: 'unparsable cluster IP', svc: service('bad', { clusterIPs: ['banana'] }), field: 'spec.clusterIPs[0]', keys: [] },
    { name: 'IPv4 with leading zeros', svc: service('bad', { clusterIPs: ['010.0.0.1'] }), field: 'spec.clusterIPs[0]', keys: [] },
    { name: 'IPv6 with a zone', svc: service('bad', { clusterIPs: ['fe80::1%eth0'] }), field: 'spec.clusterIPs[0]', keys: [] },
    { name: 'IPv4-mapped IPv6', svc: service('bad', { clusterIPs: ['::ffff:10.0.0.1'] }), field: 'spec.clusterIPs[0]', keys: [] },
    {
      name: 'two cluster IPs of one family',
      svc: service('bad', { clusterIPs: ['10.0.0.1', '10.0.0.2'] }),
      field: 'spec.clusterIPs[1]',
      keys: ['TCP/10.0.0.1/80'],
    },
    { name: 'no cluster IP (hand-written manifest)', svc: service('bad', { clusterIPs: [] }), field: 'spec.clusterIP', keys: [] },
    {
      name: 'wrong-family external IP',
      svc: service('bad', { externalIPs: ['2001:db8::1', '203.0.113.1'] }),
      field: 'spec.externalIPs[0]',
      keys: ['TCP/10.0.0.1/80', 'TCP/203.0.113.1/80'],
    },
    { name: 'unparsable external IP', svc: service('bad', { externalIPs: ['300.1.1.1'] }), field: 'spec.externalIPs[0]', keys: ['TCP/10.0.0.1/80'] },
    {
      name: 'unparsable LB ingress IP',
      svc: service('bad', { type: 'LoadBalancer', lbIngress: [{ ip: 'x' }] }),
      field: 'status.loadBalancer.ingress[0].ip',
      keys: ['TCP/10.0.0.1/80'],
    },
    {
      name: 'bad loadBalancerSourceRanges entry',
      svc: service('bad', { type: 'LoadBalancer', spec: { loadBalancerSourceRanges: ['10.0.0.0/8', 'nope'] } }),
      field: 'spec.loadBalancerSourceRanges[1]',
      keys: ['TCP/10.0.0.1/80'],
    },
    { name: 'unknown type', svc: service('bad', { type: 'Magic' }), field: 'spec.type', keys: [] },
    {
      name: 'no spec',
      svc: withGarbage(service('bad'), (s) => {
        delete s.spec;
      }),
      field: 'spec',
      keys: [],
    },
    {
      name: 'too many ports',
      svc: service('bad', { ports: Array.from({ length: 300 }, (_, i) => ({ name: `p${i}`, port: i + 1 })) }),
      field: 'spec.ports',
      keys: [],
    },
    {
      name: 'unknown traffic policy',
      svc: service('bad', { spec: { internalTrafficPolicy: 'Sometimes' } }),
      field: 'spec.internalTrafficPolicy',
      keys: ['TCP/10.0.0.1/80'],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const out = desired({ services: [t.svc, good], slices: [goodSlice] });
      assertWarning(out.warnings, 'Service default/bad', t.field);
      const keys = [...out.vs.keys()].filter((k) => k !== 'TCP/10.0.9.9/80').sort();
      assert.deepEqual(keys, t.keys);
      assert.deepEqual(reals(out.vs.get('TCP/10.0.9.9/80')), ['10.9.0.1/8080']);
    });
  }
});

describe('bad slices: the bad part is skipped, the rest served', () => {
  const many = Array.from({ length: 1001 }, (_, i) => ep(`10.1.${i >> 8}.${i & 255}`));
  const table: { name: string; slice: V1EndpointSlice; field: string; reals: string[] }[] = [
    { name: 'endpoint without addresses', slice: slice('bad-1', 'web', [ep([]), ep('10.1.0.2')]), field: 'endpoints[0].addresses', reals: ['10.1.0.2/8080'] },
    {
      name: 'unparsable endpoint address',
      slice: slice('bad-1', 'web', [ep('10.1.0'), ep('10.1.0.2')]),
      field: 'endpoints[0].addresses[0]',
      reals: ['10.1.0.2/8080'],
    },
    {
      name: 'address of the wrong family',
      slice: slice('bad-1', 'web', [ep('fd00::1'), ep('10.1.0.2')]),
      field: 'endpoints[0].addresses[0]',
      reals: ['10.1.0.2/8080'],
    },
    { name: 'invalid slice port', slice: slice('bad-1', 'web', [ep('10.1.0.2')], [{ name: '', port: 0 }]), field: 'ports[0].port', reals: [] },
    { name: 'unknown address type', slice: slice('bad-1', 'web', [ep('10.1.0.2')], undefined, { addressType: 'IPv5' }), field: 'addressType', reals: [] },
    { name: 'more endpoints than the API allows', slice: slice('bad-1', 'web', many), field: 'endpoints', reals: [] },
    { name: 'no service-name label', slice: slice('bad-1', undefined, [ep('10.1.0.2')]), field: 'metadata.labels[kubernetes.io/service-name]', reals: [] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const out = desired({ services: [service('web'), good], slices: [t.slice, goodSlice] });
      assertWarning(out.warnings, 'EndpointSlice default/bad-1', t.field);
      assert.deepEqual(reals(out.vs.get('TCP/10.0.0.1/80')), t.reals);
      assert.deepEqual(reals(out.vs.get('TCP/10.0.9.9/80')), ['10.9.0.1/8080']);
    });
  }

  it('garbage objects never throw', () => {
    const junk = [
      { metadata: { name: 'j1', namespace: 'default' } },
      { metadata: { name: 'j2', namespace: 'default' }, spec: { ports: [null, 5, { port: 80, protocol: 7 }], clusterIPs: [42] } },
      {
        metadata: { name: 'j3', namespace: 'default' },
        spec: { clusterIP: '10.0.0.3', ports: [{ port: 80 }], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 'long' } } },
      },
    ] as unknown as V1Service[];
    const junkSlices = [
      {
        metadata: { name: 'k1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'j3' } },
        addressType: 'IPv4',
        endpoints: [null, { addresses: 'x' }, { addresses: [1] }],
        ports: 'p',
      },
      { metadata: { name: 'k2', namespace: 'default', labels: { 'kubernetes.io/service-name': 'j3' } } },
    ] as unknown as V1EndpointSlice[];
    const out = desired({ services: [...junk, good], slices: [...junkSlices, goodSlice] });
    assert.deepEqual([...out.vs.keys()].sort(), ['TCP/10.0.0.3/80', 'TCP/10.0.9.9/80']);
    assert.ok(out.warnings.length >= 4);
  });
});

describe('service ports no EndpointSlice carries', () => {
  const svcTwo = service('web', {
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'metrics', port: 9090, targetPort: 'metrics' as unknown as number },
    ],
  });
  const carriesHttp = slice('web-a', 'web', [ep('10.1.0.1')], [{ name: 'http', port: 8080, protocol: 'TCP' }]);

  it('a named targetPort no slice carries: one warning naming the port; the other port is served', () => {
    const out = desired({ services: [svcTwo], slices: [carriesHttp] });
    const ws = out.warnings.filter((w) => w.object === 'Service default/web');
    assert.equal(ws.length, 1);
    assert.equal(ws[0].field, 'spec.ports[1].targetPort');
    assert.match(ws[0].message, /named port "metrics" .*they carry TCP "http"/);
    assert.deepEqual(reals(out.vs.get('TCP/10.0.0.1/80')), ['10.1.0.1/8080']);
    assert.deepEqual(reals(out.vs.get('TCP/10.0.0.1/9090')), []);
  });

  it('no warning without endpoints (nothing to carry yet), nor when every port is carried', () => {
    assert.equal(desired({ services: [svcTwo] }).warnings.length, 0);
    const both = slice(
      'web-a',
      'web',
      [ep('10.1.0.1')],
      [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'metrics', port: 9100, protocol: 'TCP' },
      ],
    );
    assert.equal(desired({ services: [svcTwo], slices: [both] }).warnings.length, 0);
  });

  it('a hand-made slice whose port name differs from the service port: named in the warning', () => {
    const out = desired({
      services: [service('db', { ports: [{ port: 5432, targetPort: 5432 }] })],
      slices: [slice('db-a', 'db', [ep('10.1.0.2')], [{ name: 'postgres', port: 5432, protocol: 'TCP' }])],
    });
    const w = out.warnings.find((x) => x.object === 'Service default/db');
    assert.ok(w);
    assert.equal(w.field, 'spec.ports[0].name');
    assert.match(w.message, /carries port TCP \(unnamed\) \(they carry TCP "postgres"\)/);
  });
});

describe('warnings name their object as a typed reference, and as text for messages', () => {
  it('a Service, an EndpointSlice, an unnamed object and the loser of a conflict', () => {
    const badPort = service('bad', {
      ports: [
        { name: 'a', port: 0 },
        { name: 'b', port: 81 },
      ],
    });
    const badSlice = slice('good-2', 'good', [ep('not-an-ip')]);
    const unnamed = withGarbage(service('nameless'), (s) => {
      delete (s.metadata as Record<string, unknown>).name;
    });
    const older = service('older', { clusterIPs: ['10.0.5.5'], created: '2020-01-01T00:00:00Z' });
    const younger = service('younger', { clusterIPs: ['10.0.5.5'], created: '2021-01-01T00:00:00Z' });
    const out = desired({ services: [good, badPort, older, younger], slices: [goodSlice, badSlice] });
    // An unnamed object never reaches the computation (the from-scratch path of desired() would take it).
    const model = new ServiceModel(config());
    model.apply([{ kind: 'Service', type: 'upsert', object: unnamed }]);
    model.takeChanges();
    const about = (object: string): { ref: unknown; object: string }[] =>
      out.warnings.filter((w) => w.object === object).map((w) => ({ ref: w.ref, object: w.object }));
    assert.deepEqual(about('Service default/bad')[0], { ref: { kind: 'Service', namespace: 'default', name: 'bad' }, object: 'Service default/bad' });
    assert.deepEqual(about('EndpointSlice default/good-2')[0], {
      ref: { kind: 'EndpointSlice', namespace: 'default', name: 'good-2' },
      object: 'EndpointSlice default/good-2',
    });
    const nameless = model.warnings().find((w) => w.field === 'metadata.name');
    assert.deepEqual(
      { ref: nameless?.ref, object: nameless?.object },
      { ref: { kind: 'Service', namespace: 'default', name: '' }, object: 'Service default/?' },
    );
    const conflict = out.warnings.find((w) => /also claimed by Service default\/older/.test(w.message));
    assert.deepEqual(conflict?.ref, { kind: 'Service', namespace: 'default', name: 'younger' });
  });
});
