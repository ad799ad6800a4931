// The record a publisher builds, without Redis (the client is created but never connected).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetPublisher, type SyncReport } from '../../../src/fleet/publisher.js';
import { nodeRecordSchema } from '../../../src/fleet/record.js';

const T0 = 1_764_093_600_000;

function report(over: Partial<SyncReport> = {}): SyncReport {
  return {
    at: T0,
    durationMs: 5,
    ok: true,
    healthy: true,
    counts: { virtualServers: 3, realServers: 6, addresses: 2 },
    digest: 'a'.repeat(64),
    resourceVersions: { services: '1', endpointSlices: '2' },
    ...over,
  };
}

test('record before the first sync, after a good one, after a failed one', () => {
  let now = T0;
  const p = new FleetPublisher({ url: 'redis://127.0.0.1:1', nodeName: 'n1', agentVersion: '1.2.3', ttlMs: 9_000, now: () => now, env: {} });
  try {
    let r = p.record();
    assert.equal(r.lastSync, null);
    assert.equal(r.digest, null);
    assert.equal(r.healthy, false);
    assert.equal(r.latency.count, 0);
    nodeRecordSchema.parse(r);

    p.publish(report({ driftFound: 2, networkProgrammingMs: [3, 4, 5] }));
    now += 1_000;
    r = p.record();
    assert.deepEqual(r.lastSync, { at: T0, durationMs: 5 });
    assert.equal(r.publishedAt, T0 + 1_000);
    assert.equal(r.ttlMs, 9_000);
    assert.equal(r.agentVersion, '1.2.3');
    assert.deepEqual(r.drift, { last: 2, total: 2 });
    assert.equal(r.latency.count, 3);
    assert.ok(r.latency.p50Ms! > 3.8 && r.latency.p50Ms! < 4.2);
    nodeRecordSchema.parse(r);

    p.publish(
      report({
        at: T0 + 2_000,
        ok: false,
        error: 'x'.repeat(1_000),
        healthy: false,
        digest: 'b'.repeat(64),
        resourceVersions: { services: '7', endpointSlices: '8' },
      }),
    );
    r = p.record();
    assert.deepEqual(r.lastSync, { at: T0, durationMs: 5 }, 'last good sync kept');
    assert.equal(r.digest, 'b'.repeat(64), 'the desired state moved on');
    assert.deepEqual(r.resourceVersions, { services: '7', endpointSlices: '8' });
    assert.equal(r.errors.syncErrors, 1);
    assert.equal(r.errors.last!.length, 300);
    assert.equal(r.healthy, false);

    p.publish(report({ at: T0 + 3_000, driftFound: 0 }));
    r = p.record();
    assert.deepEqual(r.errors, { syncErrors: 1, last: null });
    assert.deepEqual(r.drift, { last: 0, total: 2 });
    assert.equal(JSON.stringify(r).includes('networkProgrammingMs'), false);
  } finally {
    p.close();
  }
});

test('the health callback wins over the last report at heartbeat time', () => {
  let healthy = true;
  const p = new FleetPublisher({ url: 'redis://127.0.0.1:1', nodeName: 'n2', agentVersion: 't', ttlMs: 1_000, healthy: () => healthy, env: {} });
  try {
    assert.equal(p.record().healthy, true);
    healthy = false;
    assert.equal(p.record().healthy, false);
  } finally {
    p.close();
  }
});

test('publish never waits, even before start() or after close()', () => {
  const p = new FleetPublisher({ url: 'redis://127.0.0.1:1', nodeName: 'n3', agentVersion: 't', ttlMs: 1_000, env: {} });
  const t0 = performance.now();
  for (let i = 0; i < 1_000; i++) p.publish(report({ networkProgrammingMs: [1] }));
  p.close();
  p.publish(report());
  assert.ok(performance.now() - t0 < 500);
  assert.equal(p.publishedCount, 0);
});
