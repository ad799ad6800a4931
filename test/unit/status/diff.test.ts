import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SvcFlag } from '../../../src/vocabulary/ipvs.js';
import { diffState, formatDiff } from '../../../src/status/diff.js';
import { diffJson } from '../../../src/status/json-view.js';
import { ownershipFromDesired, type OwnershipRecord } from '../../../src/status/ownership.js';
import { entry, proto, real, tcp } from './builders.js';
import { desiredState } from './ownership.js';

const desired = desiredState();
const record = ownershipFromDesired(desired);

/** The kernel exactly as desired (Route real moved to the service port, HASHED set, IPv6 spelt differently). */
function inSync() {
  return [
    entry(tcp('10.96.0.1', 443, { flags: SvcFlag.HASHED }), [real('10.0.0.5', 6443)]),
    entry(proto('UDP', 'fd00:10:96::a', 53, { flags: SvcFlag.PERSISTENT | SvcFlag.HASHED, timeout: 300 }), [
      real('fd00:10:244:0::6', 53),
      real('fd00:10:244::5', 53),
    ]),
    entry(tcp('192.168.1.10', 30080), [real('10.244.1.7', 30080, { forward: 'route' })]),
  ];
}

test('a kernel that matches has no drift, whatever the spelling and order', () => {
  const d = diffState(desired, inSync(), record, { includeForeign: false });
  assert.equal(d.drift, false);
  assert.deepEqual([d.missing.length, d.extra.length, d.foreign.length, d.changed.length], [0, 0, 0, 0]);
  assert.equal(formatDiff(d, { includeForeign: false }), 'no drift\n');
});

test('missing, different and extra objects are drift; foreign ones are not unless asked', () => {
  const kernel = inSync();
  kernel.splice(1, 1); // the DNS service is gone
  kernel[0].service.scheduler = 'wlc';
  kernel[0].reals.push(real('10.0.0.6', 6443));
  kernel[1].reals[0].weight = 5;
  kernel.push(entry(tcp('10.200.0.1', 80))); // someone else's
  const leftover: OwnershipRecord = {
    virtualServers: new Map([
      ...record.virtualServers,
      ['TCP/10.96.0.99/80', { owner: { namespace: 'old', name: 'gone', portName: '', kind: 'ClusterIP' }, reals: new Map() }],
    ]),
  };
  kernel.push(entry(tcp('10.96.0.99', 80))); // recorded earlier, no longer desired

  const d = diffState(desired, kernel, leftover, { includeForeign: false });
  assert.equal(d.drift, true);
  assert.deepEqual(
    d.missing.map((m) => m.owner.name),
    ['kube-dns'],
  );
  assert.deepEqual(
    d.extra.map((e) => e.service.port),
    [80],
  );
  assert.deepEqual(
    d.foreign.map((e) => e.service.port),
    [80],
  );
  assert.equal(d.changed.length, 2);
  const api = d.changed.find((c) => c.owner.name === 'kubernetes');
  assert.deepEqual(api?.fields, [{ field: 'scheduler', desired: 'rr', actual: 'wlc' }]);
  assert.deepEqual(
    api?.extraReals.map((r) => r.address),
    ['10.0.0.6'],
  );
  const web = d.changed.find((c) => c.owner.name === 'web');
  assert.deepEqual(web?.changedReals[0].fields, [{ field: 'weight', desired: 1, actual: 5 }]);

  assert.equal(
    formatDiff(d, { includeForeign: false }),
    [
      '- UDP  [fd00:10:96::a]:53  # missing, kube-system/kube-dns ClusterIP',
      '+ TCP  10.96.0.99:80  # extra, recorded but not desired',
      '~ TCP  192.168.1.10:30080  # shop/web:http NodePort',
      '  ~ 10.244.1.7:30080  # weight 1 -> 5',
      '~ TCP  10.96.0.1:443  # default/kubernetes:https ClusterIP: scheduler rr -> wlc',
      '  + 10.0.0.6:6443  # extra',
      '? TCP  10.200.0.1:80  # foreign, not counted',
      'drift: the kernel differs from the desired state',
      '',
    ].join('\n'),
  );

  const doc = JSON.parse(diffJson(d)) as { kind: string; drift: boolean; missing: unknown[]; changed: Array<{ fields: unknown[] }> };
  assert.equal(doc.kind, 'diff');
  assert.equal(doc.drift, true);
  assert.equal(doc.missing.length, 1);
});

test('foreign virtual servers count as drift when asked', () => {
  const kernel = [...inSync(), entry(tcp('10.200.0.1', 80))];
  assert.equal(diffState(desired, kernel, record, { includeForeign: false }).drift, false);
  assert.equal(diffState(desired, kernel, record, { includeForeign: true }).drift, true);
});

test('a missing real server and persistence settings are compared', () => {
  const kernel = inSync();
  kernel[1].reals.pop();
  kernel[1].service.timeout = 600;
  const d = diffState(desired, kernel, record, { includeForeign: false });
  assert.equal(d.changed.length, 1);
  assert.deepEqual(d.changed[0].fields, [{ field: 'timeout', desired: 300, actual: 600 }]);
  assert.deepEqual(
    d.changed[0].missingReals.map((r) => r.address),
    ['fd00:10:244::5'],
  );
});
