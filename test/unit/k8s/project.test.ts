// The sources keep Services and EndpointSlices reduced to the fields the agent reads: what the
// model sees (its fingerprints name exactly the fields it reads) is the same before and after,
// and what nobody reads (managedFields, other annotations, selectors, status conditions) is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { projectEndpointSlice, projectService } from '../../../src/k8s/project.js';
import { serviceFingerprint, sliceFingerprint } from '../../../src/model/objects.js';
import { ServiceModel } from '../../../src/model/service-model.js';
import type { SourceEvent } from '../../../src/vocabulary/source.js';

const MANAGED = [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }];

const service = (): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '7',
    creationTimestamp: '2026-01-01T00:00:00Z' as unknown as Date,
    labels: { app: 'web', 'service.kubernetes.io/service-proxy-name': 'ipvs' },
    annotations: { 'ipvs-proxy.io/scheduler': 'wrr', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' },
    managedFields: MANAGED as never,
  },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10'],
    ipFamilies: ['IPv4'],
    selector: { app: 'web' },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never, nodePort: 30080, appProtocol: 'http' }],
    externalIPs: ['192.0.2.1'],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 32000,
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
    loadBalancerSourceRanges: ['203.0.113.0/24'],
  },
  status: { loadBalancer: { ingress: [{ ip: '198.51.100.7', ipMode: 'VIP', hostname: 'lb.example' }] }, conditions: [{ type: 'x', status: 'True' } as never] },
});

const slice = (): V1EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: 'web-abc12',
    namespace: 'shop',
    resourceVersion: '9',
    labels: { 'kubernetes.io/service-name': 'web' },
    annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:01Z', other: 'x' },
    managedFields: MANAGED as never,
  },
  addressType: 'IPv4',
  endpoints: [
    {
      addresses: ['10.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-a',
      zone: 'z1',
      hints: { forZones: [{ name: 'z1' }] },
      targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'p-1', resourceVersion: '3' },
    },
    { addresses: ['10.0.0.2'], conditions: { ready: false }, nodeName: 'node-b' },
  ],
  ports: [{ name: 'http', protocol: 'TCP', port: 8080, appProtocol: 'http' }],
});

test('a projected Service keeps what the agent reads and drops the rest', () => {
  const p = projectService(service());
  assert.equal(serviceFingerprint(p), serviceFingerprint(service()));
  assert.equal(p.spec?.healthCheckNodePort, 32000, 'read by the health check node ports');
  assert.equal(p.metadata?.resourceVersion, '7', 'the reflector compares it');
  assert.equal(p.metadata?.uid, 'u-1');
  assert.deepEqual(p.metadata?.annotations, { 'ipvs-proxy.io/scheduler': 'wrr' });
  assert.equal(p.metadata?.managedFields, undefined);
  assert.equal(p.spec?.selector, undefined);
  assert.equal(p.spec?.ipFamilies, undefined);
  assert.equal(p.status?.conditions, undefined);
  assert.deepEqual(p.status?.loadBalancer?.ingress, [{ ip: '198.51.100.7', ipMode: 'VIP' }]);
  assert.deepEqual(Object.keys(p.spec ?? {}).includes('loadBalancerIP'), false, 'an absent field stays absent');
});

test('a projected EndpointSlice keeps what the agent reads and drops the rest', () => {
  const p = projectEndpointSlice(slice());
  assert.equal(sliceFingerprint(p), sliceFingerprint(slice()));
  assert.deepEqual(p.metadata?.annotations, { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:01Z' });
  assert.equal(p.metadata?.managedFields, undefined);
  assert.equal(p.endpoints[0].zone, undefined);
  assert.deepEqual(p.endpoints[0].targetRef, { kind: 'Pod', namespace: 'shop', name: 'web-1' });
  assert.deepEqual(p.endpoints[1], { addresses: ['10.0.0.2'], nodeName: 'node-b', conditions: { ready: false } });
  assert.deepEqual(p.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
});

test('wrong types pass through for the model to warn about, and the desired state is the same', () => {
  const bad = service();
  (bad.spec as unknown as Record<string, unknown>).ports = 'http';
  (bad.metadata as unknown as Record<string, unknown>).annotations = 'nope';
  const p = projectService(bad);
  assert.equal(p.spec?.ports as unknown, 'http');
  assert.equal(p.metadata?.annotations as unknown, 'nope');
  assert.equal(serviceFingerprint(p), serviceFingerprint(bad));

  const run = (svc: V1Service, s: V1EndpointSlice): unknown => {
    const model = new ServiceModel({
      nodeName: 'node-a',
      scheduler: 'rr',
      schedulerFlags: [],
      nodePortAddresses: [],
      ipFamilies: ['inet'],
      dummyLinkName: 'kube-ipvs0',
      serviceProxyName: 'ipvs',
    });
    const events: SourceEvent[] = [
      { kind: 'Service', type: 'upsert', object: svc },
      { kind: 'EndpointSlice', type: 'upsert', object: s },
    ];
    model.apply(events);
    const { state, warnings } = model.takeChanges() as unknown as { state: { virtualServers: Map<string, unknown> }; warnings: unknown };
    return { vs: [...state.virtualServers.entries()], warnings };
  };
  const whole = run(service(), slice());
  assert.deepEqual(run(projectService(service()), projectEndpointSlice(slice())), whole);
  assert.ok((whole as { vs: unknown[] }).vs.length > 0, 'the service is served');
});
