import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import type { SourceEvent } from '../../../src/vocabulary/source.js';
import { ServiceModel } from '../../../src/model/service-model.js';
import { config, ep, link, node, NODE, service, slice } from './builders.js';
import { assertWarning, reals } from './harness.js';

const up = (object: V1Service): SourceEvent => ({ kind: 'Service', type: 'upsert', object });
const upSlice = (object: ReturnType<typeof slice>): SourceEvent => ({ kind: 'EndpointSlice', type: 'upsert', object });

function model(): ServiceModel {
  return new ServiceModel(config());
}

describe('change tracking', () => {
  it('a new service reports its virtual servers, VIPs and name', () => {
    const m = model();
    m.apply([up(service('web'))]);
    const c = m.takeChanges();
    assert.deepEqual([...c.changedVirtualServers], ['TCP/10.0.0.1/80']);
    assert.deepEqual([...c.changedAddresses], ['10.0.0.1']);
    assert.deepEqual([...c.changedServices], ['default/web']);
  });

  it('an update touching only resourceVersion or unrelated metadata is dropped', () => {
    const m = model();
    m.apply([up(service('web'))]);
    m.takeChanges();
    const again = service('web');
    again.metadata!.resourceVersion = '2';
    again.metadata!.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    m.apply([up(again)]);
    assert.deepEqual(m.pendingChanges(), { services: 0, endpointSlices: 0 });
    const c = m.takeChanges();
    assert.equal(c.changedServices.size, 0);
    assert.equal(m.recomputeStats().lastTake.size, 0);
  });

  it('a change undone before the take is dropped', () => {
    const m = model();
    m.apply([up(service('web'))]);
    m.takeChanges();
    m.apply([up(service('web', { ports: [{ port: 81 }] })), up(service('web'))]);
    assert.equal(m.pendingChanges().services, 0);
    assert.equal(m.takeChanges().changedServices.size, 0);
  });

  it('an endpoint change reports only that virtual server, and no address', () => {
    const m = model();
    m.apply([up(service('web')), up(service('api', { clusterIPs: ['10.0.0.2'] })), upSlice(slice('web-1', 'web', [ep('10.1.0.1')]))]);
    m.takeChanges();
    m.apply([upSlice(slice('web-1', 'web', [ep('10.1.0.1'), ep('10.1.0.2')], undefined, { trigger: '2026-11-25T10:00:00Z' }))]);
    const c = m.takeChanges();
    assert.deepEqual([...c.changedVirtualServers], ['TCP/10.0.0.1/80']);
    assert.deepEqual([...c.changedAddresses], []);
    assert.deepEqual([...m.recomputeStats().lastTake], ['default/web']);
    assert.deepEqual(c.triggerTimes, [Date.parse('2026-11-25T10:00:00Z')]);
    assert.deepEqual(reals(c.state.virtualServers.get('TCP/10.0.0.1/80')), ['10.1.0.1/8080', '10.1.0.2/8080']);
  });

  it('a slice update changing only its trigger time is dropped; a real change reports a new trigger time once', () => {
    const m = model();
    m.apply([up(service('web')), upSlice(slice('web-1', 'web', [ep('10.1.0.1')], undefined, { trigger: '2026-11-25T10:00:00Z' }))]);
    assert.equal(m.takeChanges().triggerTimes.length, 1);
    m.apply([upSlice(slice('web-1', 'web', [ep('10.1.0.1')], undefined, { trigger: '2026-11-25T10:00:05Z' }))]);
    assert.equal(m.pendingChanges().endpointSlices, 0);
    assert.deepEqual(m.takeChanges().triggerTimes, []);
    m.apply([upSlice(slice('web-1', 'web', [ep('10.1.0.2')], undefined, { trigger: '2026-11-25T10:00:09Z' }))]);
    assert.deepEqual(m.takeChanges().triggerTimes, [Date.parse('2026-11-25T10:00:09Z')]);
  });

  it('deleting a service removes its virtual servers and VIPs; deleting a slice empties the reals', () => {
    const m = model();
    m.apply([up(service('web')), upSlice(slice('web-1', 'web', [ep('10.1.0.1')]))]);
    m.takeChanges();
    m.apply([{ kind: 'EndpointSlice', type: 'delete', namespace: 'default', name: 'web-1' }]);
    assert.deepEqual(reals(m.takeChanges().state.virtualServers.get('TCP/10.0.0.1/80')), []);
    m.apply([{ kind: 'Service', type: 'delete', namespace: 'default', name: 'web' }]);
    const c = m.takeChanges();
    assert.deepEqual([...c.changedVirtualServers], ['TCP/10.0.0.1/80']);
    assert.deepEqual([...c.changedAddresses], ['10.0.0.1']);
    assert.equal(c.state.virtualServers.size, 0);
    assert.equal(c.state.addresses.size, 0);
  });

  it('a slice relabelled to another service recomputes both', () => {
    const m = model();
    m.apply([up(service('a')), up(service('b', { clusterIPs: ['10.0.0.2'] })), upSlice(slice('s', 'a', [ep('10.1.0.1')]))]);
    m.takeChanges();
    m.apply([upSlice(slice('s', 'b', [ep('10.1.0.1')]))]);
    const c = m.takeChanges();
    assert.deepEqual([...m.recomputeStats().lastTake].sort(), ['default/a', 'default/b']);
    assert.deepEqual(reals(c.state.virtualServers.get('TCP/10.0.0.1/80')), []);
    assert.deepEqual(reals(c.state.virtualServers.get('TCP/10.0.0.2/80')), ['10.1.0.1/8080']);
  });

  it('a VIP shared by two services stays bound until both are gone', () => {
    const m = model();
    m.apply([
      up(service('a', { externalIPs: ['203.0.113.1'] })),
      up(service('b', { clusterIPs: ['10.0.0.2'], externalIPs: ['203.0.113.1'], ports: [{ port: 443 }] })),
    ]);
    m.takeChanges();
    m.apply([{ kind: 'Service', type: 'delete', namespace: 'default', name: 'a' }]);
    let c = m.takeChanges();
    assert.ok(c.state.addresses.has('203.0.113.1'));
    assert.ok(!c.changedAddresses.has('203.0.113.1'));
    m.apply([{ kind: 'Service', type: 'delete', namespace: 'default', name: 'b' }]);
    c = m.takeChanges();
    assert.ok(c.changedAddresses.has('203.0.113.1'));
    assert.ok(!c.state.addresses.has('203.0.113.1'));
  });
});

describe('conflicts', () => {
  it('the older service wins a contested virtual server; the loser is named with the winner', () => {
    const m = model();
    const older = service('old', { namespace: 'z', externalIPs: ['203.0.113.1'], created: '2025-01-01T00:00:00Z' });
    const newer = service('new', { namespace: 'a', clusterIPs: ['10.0.0.2'], externalIPs: ['203.0.113.1'], created: '2026-01-01T00:00:00Z' });
    m.apply([up(newer), up(older)]);
    let c = m.takeChanges();
    assert.equal(c.state.virtualServers.get('TCP/203.0.113.1/80')?.owner.name, 'old');
    const w = assertWarning(m.warnings(), 'Service a/new', 'spec.externalIPs[0]');
    assert.match(w.message, /Service z\/old/);
    m.apply([{ kind: 'Service', type: 'delete', namespace: 'z', name: 'old' }]);
    c = m.takeChanges();
    assert.equal(c.state.virtualServers.get('TCP/203.0.113.1/80')?.owner.name, 'new');
    assert.ok(c.changedVirtualServers.has('TCP/203.0.113.1/80'));
  });

  it('same age: namespace/name decides', () => {
    const m = model();
    m.apply([up(service('b', { externalIPs: ['203.0.113.1'] })), up(service('a', { clusterIPs: ['10.0.0.2'], externalIPs: ['203.0.113.1'] }))]);
    const c = m.takeChanges();
    assert.equal(c.state.virtualServers.get('TCP/203.0.113.1/80')?.owner.name, 'a');
    assertWarning(m.warnings(), 'Service default/b', 'spec.externalIPs[0]');
  });
});

describe('node-wide inputs', () => {
  const np = service('np', { type: 'NodePort', clusterIPs: ['10.0.0.3'], ports: [{ port: 80, nodePort: 30080 }] });

  it('new node addresses recompute only NodePort services', () => {
    const m = model();
    m.apply([up(service('plain')), up(np)]);
    m.setNodeAddresses([link('eth0', '192.168.1.10')]);
    m.takeChanges();
    m.setNodeAddresses([link('eth0', '192.168.1.10'), link('eth1', '192.168.2.10', 3)]);
    const c = m.takeChanges();
    assert.deepEqual([...m.recomputeStats().lastTake], ['default/np']);
    assert.deepEqual([...c.changedVirtualServers], ['TCP/192.168.2.10/30080']);
    m.setNodeAddresses([link('eth1', '192.168.2.10', 3), link('eth0', '192.168.1.10')]);
    m.takeChanges();
    assert.equal(m.recomputeStats().lastTake.size, 0, 'same addresses in another order change nothing');
  });

  it('a zone change recomputes only services whose endpoints carry hints', () => {
    const m = model();
    m.apply([
      up(service('hinted')),
      up(service('plain', { clusterIPs: ['10.0.0.2'] })),
      upSlice(slice('h', 'hinted', [ep('10.1.0.1', { zones: ['z1'] }), ep('10.1.0.2', { zones: ['z2'] })])),
      upSlice(slice('p', 'plain', [ep('10.1.0.3')])),
      { kind: 'Node', type: 'upsert', object: node({ zone: 'z1' }) },
    ]);
    let c = m.takeChanges();
    assert.deepEqual(reals(c.state.virtualServers.get('TCP/10.0.0.1/80')), ['10.1.0.1/8080']);
    m.apply([{ kind: 'Node', type: 'upsert', object: node({ zone: 'z2' }) }]);
    c = m.takeChanges();
    assert.deepEqual([...m.recomputeStats().lastTake], ['default/hinted']);
    assert.deepEqual(reals(c.state.virtualServers.get('TCP/10.0.0.1/80')), ['10.1.0.2/8080']);
  });

  it('nodeEligible follows deletion and the autoscaler taint; other nodes are ignored', () => {
    const m = model();
    assert.equal(m.nodeEligible(), true);
    m.apply([{ kind: 'Node', type: 'upsert', object: node({ deleting: true }) }]);
    assert.equal(m.nodeEligible(), false);
    m.apply([{ kind: 'Node', type: 'upsert', object: node({ taint: 'ToBeDeletedByClusterAutoscaler' }) }]);
    assert.equal(m.nodeEligible(), false);
    m.apply([{ kind: 'Node', type: 'upsert', object: node({ taint: 'dedicated' }) }]);
    assert.equal(m.nodeEligible(), true);
    const other = node({ deleting: true });
    other.metadata!.name = 'node-b';
    m.apply([{ kind: 'Node', type: 'upsert', object: other }]);
    assert.equal(m.nodeEligible(), true);
    assert.notEqual(NODE, 'node-b');
  });

  it('the noLocalEndpoints gauge follows the services as they change', () => {
    const m = model();
    const local = service('l', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }], spec: { externalTrafficPolicy: 'Local' } });
    m.apply([up(local), upSlice(slice('l-1', 'l', [ep('10.1.0.1', { nodeName: 'node-b' })]))]);
    m.takeChanges();
    assert.deepEqual(m.noLocalEndpoints(), { External: 1, Internal: 0 });
    m.apply([upSlice(slice('l-1', 'l', [ep('10.1.0.1', { nodeName: NODE })]))]);
    m.takeChanges();
    assert.deepEqual(m.noLocalEndpoints(), { External: 0, Internal: 0 });
  });

  it('objects without a name are reported by the next take and ignored', () => {
    const m = model();
    const nameless = service('x');
    delete nameless.metadata!.name;
    m.apply([up(nameless)]);
    m.takeChanges();
    assertWarning(m.warnings(), 'Service default/?', 'metadata.name');
    assert.equal(m.state().virtualServers.size, 0);
  });
});
