import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Endpoints } from '@kubernetes/client-node';
import { MANAGED_BY_LABEL, MIRRORING_CONTROLLER, SERVICE_NAME_LABEL, mirrorEndpoints } from '../../../src/manifests/endpoints-mirror.js';

const legacy: V1Endpoints = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: {
    name: 'hostnames',
    namespace: 'default',
    labels: { app: 'hostnames' },
    annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': 'x', team: 'a' },
  },
  subsets: [
    {
      addresses: [{ ip: '10.244.1.7', nodeName: 'n1' }, { ip: 'fd00::7' }],
      notReadyAddresses: [{ ip: '10.244.2.3', hostname: 'h2' }],
      ports: [{ name: 'http', port: 9376 }],
    },
    { addresses: [{ ip: '10.244.3.6' }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
  ],
};

test('one slice per subset and family, ready from addresses, not ready from notReadyAddresses', () => {
  const { slices, problems } = mirrorEndpoints(legacy);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    slices.map((s) => s.addressType),
    ['IPv4', 'IPv6', 'IPv4'],
  );
  const [v4, v6, second] = slices;
  assert.deepEqual(
    v4.endpoints.map((e) => [e.addresses[0], e.conditions?.ready]),
    [
      ['10.244.1.7', true],
      ['10.244.2.3', false],
    ],
  );
  assert.equal(v4.endpoints[0].nodeName, 'n1');
  assert.equal(v4.endpoints[1].hostname, 'h2');
  assert.deepEqual(
    v6.endpoints.map((e) => e.addresses[0]),
    ['fd00::7'],
  );
  assert.deepEqual(v4.ports, [{ name: 'http', port: 9376, protocol: 'TCP', appProtocol: undefined }]);
  assert.deepEqual(
    second.ports?.map((p) => [p.name, p.port, p.protocol]),
    [['dns', 53, 'UDP']],
  );
  for (const s of slices) {
    assert.equal(s.metadata?.namespace, 'default');
    assert.equal(s.metadata?.labels?.[SERVICE_NAME_LABEL], 'hostnames');
    assert.equal(s.metadata?.labels?.[MANAGED_BY_LABEL], MIRRORING_CONTROLLER);
    assert.equal(s.metadata?.labels?.app, 'hostnames');
    assert.deepEqual(s.metadata?.annotations, { team: 'a' });
    assert.match(s.metadata?.name ?? '', /^hostnames-[0-9a-f]{5}$/);
  }
  assert.equal(new Set(slices.map((s) => s.metadata?.name)).size, 3, 'distinct names');
});

test('names are stable across content changes and fit 63 characters', () => {
  const a = mirrorEndpoints(legacy).slices.map((s) => s.metadata?.name);
  const changed = structuredClone(legacy);
  changed.subsets![0].addresses!.push({ ip: '10.244.9.9' });
  assert.deepEqual(
    mirrorEndpoints(changed).slices.map((s) => s.metadata?.name),
    a,
  );
  const long = mirrorEndpoints({ ...legacy, metadata: { ...legacy.metadata, name: 'x'.repeat(80) } });
  assert.ok(long.slices.every((s) => (s.metadata?.name ?? '').length <= 63));
});

test('addresses that are not IPs are left out with a problem; skip-mirror is honoured', () => {
  const r = mirrorEndpoints({ metadata: { name: 'bad' }, subsets: [{ addresses: [{ ip: 'not-an-ip' }, { ip: '10.0.0.1' }] }] });
  assert.equal(r.slices.length, 1);
  assert.equal(r.slices[0].metadata?.namespace, 'default');
  assert.match(r.problems[0], /subsets\[0\]: "not-an-ip" is not an IP address/);
  const skipped = mirrorEndpoints({
    metadata: { name: 's', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: '10.0.0.1' }] }],
  });
  assert.deepEqual(skipped.slices, []);
});

test('a subset is capped at 1000 endpoints, as the controller does', () => {
  const addresses = Array.from({ length: 1002 }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${i % 250}` }));
  const r = mirrorEndpoints({ metadata: { name: 'big' }, subsets: [{ addresses }] });
  assert.equal(r.slices[0].endpoints.length, 1000);
  assert.equal(r.problems.length, 2);
});
