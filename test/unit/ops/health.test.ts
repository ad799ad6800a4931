import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthState, isNodeEligible, startHealthServer, TO_BE_DELETED_TAINT } from '../../../src/ops/health.js';
import { ProxyMetrics } from '../../../src/ops/metrics.js';
import { parseBindAddress, BindAddressError, ListenError } from '../../../src/ops/http.js';

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('an idle agent with nothing queued stays healthy however long since the last sync', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 30_000, now: c.now });
  h.synced();
  c.advance(3_600_000);
  const s = h.snapshot();
  assert.equal(s.live, true);
  assert.equal(s.healthy, true);
});

test('a change waiting more than 2 x syncPeriod makes the agent unhealthy; a sync restores it', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 30_000, now: c.now });
  h.queued();
  c.advance(60_000);
  assert.equal(h.snapshot().live, true, 'exactly 2 x period is still healthy');
  c.advance(1);
  assert.equal(h.snapshot().live, false);
  assert.equal(h.snapshot().healthy, false);
  h.synced();
  assert.equal(h.snapshot().healthy, true);
  assert.equal(h.snapshot().lastUpdated, c.now());
});

test('only the oldest queued change counts', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 1_000, now: c.now });
  h.queued();
  c.advance(1_500);
  h.queued();
  c.advance(600);
  assert.equal(h.snapshot().live, false);
  assert.equal(h.snapshot().oldestPending, c.now() - 2_100);
});

test('changes queued while a sync runs stay pending after it completes', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 1_000, now: c.now });
  h.syncStarted(); // nothing queued before the snapshot
  c.advance(10);
  h.queued(); // arrives during the sync
  h.synced();
  assert.equal(h.snapshot().oldestPending, c.now(), 'the late change is still waiting');
  c.advance(2_001);
  assert.equal(h.snapshot().live, false);
  h.syncStarted();
  assert.equal(h.snapshot().live, false, 'in flight is still unapplied');
  h.synced();
  assert.equal(h.snapshot().live, true);
  assert.equal(h.snapshot().oldestPending, undefined);
});

test('a failed sync leaves its changes pending', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 1_000, now: c.now });
  h.queued();
  h.syncStarted();
  c.advance(2_500); // the sync failed: no synced()
  h.queued();
  h.syncStarted();
  assert.equal(h.snapshot().oldestPending, c.now() - 2_500);
  assert.equal(h.snapshot().live, false);
});

test('node eligibility and shutdown affect healthy but not live', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 1_000, now: c.now });
  h.nodeEligible(false);
  assert.deepEqual([h.snapshot().live, h.snapshot().healthy], [true, false]);
  h.nodeEligible(true);
  h.shuttingDown();
  assert.deepEqual([h.snapshot().live, h.snapshot().healthy, h.snapshot().shuttingDown], [true, false, true]);
});

test('isNodeEligible follows kube-proxy: deletion timestamp or the autoscaler taint', () => {
  assert.equal(isNodeEligible(undefined), true);
  assert.equal(isNodeEligible({ metadata: {}, spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } }), true);
  assert.equal(isNodeEligible({ metadata: { deletionTimestamp: '2026-11-25T18:00:00Z' } }), false);
  assert.equal(isNodeEligible({ spec: { taints: [{ key: TO_BE_DELETED_TAINT, effect: 'NoSchedule' }] } }), false);
});

test('syncPeriodMs must be positive', () => {
  assert.throws(() => new HealthState({ syncPeriodMs: 0 }), RangeError);
});

test('parseBindAddress', () => {
  assert.deepEqual(parseBindAddress('0.0.0.0:10256'), { host: '0.0.0.0', port: 10256 });
  assert.deepEqual(parseBindAddress('[::1]:10249'), { host: '::1', port: 10249 });
  // One syntax with the settings: a host is required, as kube-proxy's flags require one.
  assert.throws(() => parseBindAddress(':10249'), BindAddressError);
  assert.throws(() => parseBindAddress('10249'), BindAddressError);
  assert.throws(() => parseBindAddress('1.2.3.4:70000'), BindAddressError);
});

test('/healthz and /livez over HTTP: codes, kube-proxy body, headers and counters', async () => {
  const c = clock(Date.parse('2026-11-25T18:00:00.000Z'));
  const health = new HealthState({ syncPeriodMs: 1_000, now: c.now });
  const metrics = new ProxyMetrics();
  const server = await startHealthServer({ bindAddress: '127.0.0.1:0', health, metrics });
  const base = `http://127.0.0.1:${server.address.port}`;
  try {
    let r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(await r.json(), {
      lastUpdated: '0001-01-01T00:00:00.000Z',
      currentTime: '2026-11-25T18:00:00.000Z',
      nodeEligible: true,
    });

    health.synced();
    health.queued();
    c.advance(2_001);
    r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), {
      lastUpdated: '2026-11-25T18:00:00.000Z',
      currentTime: '2026-11-25T18:00:02.001Z',
      nodeEligible: true,
    });
    r = await fetch(`${base}/livez`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 503);
    await r.text();

    health.synced();
    health.nodeEligible(false);
    r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as { nodeEligible: boolean }).nodeEligible, false);
    r = await fetch(`${base}/livez`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 200, 'livez is the timing check alone');
    await r.text();

    r = await fetch(`${base}/other`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 404);
    await r.text();

    const text = await metrics.text();
    assert.match(text, /^kubeproxy_proxy_healthz_total\{code="200"\} 1$/m);
    assert.match(text, /^kubeproxy_proxy_healthz_total\{code="503"\} 2$/m);
    assert.match(text, /^kubeproxy_proxy_livez_total\{code="503"\} 1$/m);
    assert.match(text, /^kubeproxy_proxy_livez_total\{code="200"\} 1$/m);
  } finally {
    await server.close();
  }
});

test('shutting down turns /healthz to 503 so that load balancers drain the node', async () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  const server = await startHealthServer({ bindAddress: '127.0.0.1:0', health });
  try {
    health.shuttingDown();
    const r = await fetch(`http://127.0.0.1:${server.address.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 503);
    await r.text();
  } finally {
    await server.close();
  }
});

test('a taken health port is a ListenError with the code', async () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  const first = await startHealthServer({ bindAddress: '127.0.0.1:0', health });
  try {
    await assert.rejects(
      startHealthServer({ bindAddress: `127.0.0.1:${first.address.port}`, health }),
      (e: unknown) => e instanceof ListenError && e.code === 'EADDRINUSE' && e.port === first.address.port,
    );
  } finally {
    await first.close();
  }
});

test('firstSyncPending: an agent that never syncs turns unhealthy after 2 x syncPeriod', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 1_000, now: c.now, firstSyncPending: true });
  c.advance(2_000);
  assert.equal(h.snapshot().live, true);
  c.advance(1);
  assert.equal(h.snapshot().live, false);
  h.synced();
  assert.equal(h.snapshot().live, true);
  const idle = new HealthState({ syncPeriodMs: 1_000, now: c.now });
  c.advance(10_000);
  assert.equal(idle.snapshot().live, true, 'default: nothing queued, healthy');
});

test('a failed pass leaves its change waiting; a clean background check does not hide it; problem checks fail /healthz at once', () => {
  const c = clock();
  const h = new HealthState({ syncPeriodMs: 1_000, now: c.now });
  h.queued();
  h.syncStarted();
  h.failed();
  c.advance(500);
  h.heartbeat();
  assert.equal(h.snapshot().lastUpdated, undefined, 'a heartbeat with a change waiting is not an update');
  c.advance(1_501);
  assert.equal(h.snapshot().healthy, false, 'every pass failing: unhealthy after period plus margin');
  h.syncStarted();
  h.synced();
  assert.equal(h.snapshot().healthy, true);
  h.heartbeat();
  assert.equal(h.snapshot().lastUpdated, c.now());
  let problem: string | undefined = 'manifests: cannot read /etc/ipvs-proxy/manifests: ENOENT';
  h.addCheck('source', () => problem);
  assert.deepEqual([h.snapshot().live, h.snapshot().healthy, h.snapshot().problems], [true, false, [problem]]);
  problem = undefined;
  assert.equal(h.snapshot().healthy, true);
});
