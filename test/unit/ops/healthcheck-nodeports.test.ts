import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { HealthCheckNodePorts, healthCheckBody } from '../../../src/ops/healthcheck-nodeports.js';
import { HealthState } from '../../../src/ops/health.js';

/** A port that was free a moment ago (the kernel picks it). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function probe(port: number, path = '/'): Promise<{ status: number; body: string; headers: Headers } | 'refused'> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: r.status, body: await r.text(), headers: r.headers };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return 'refused';
    throw err;
  }
}

function answered(r: Awaited<ReturnType<typeof probe>>) {
  assert.notEqual(r, 'refused', 'expected the port to answer');
  return r as Exclude<typeof r, 'refused'>;
}

test('kube-proxy body, byte for byte', () => {
  assert.equal(
    healthCheckBody('default', 'web', 2, true),
    '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
  );
});

test('200 with local endpoints, 503 without, headers, and updates in place', async () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  const hc = new HealthCheckNodePorts({ addresses: ['127.0.0.1'], health });
  const port = await freePort();
  try {
    assert.deepEqual(await hc.update([{ namespace: 'default', name: 'web', port, localEndpoints: 2 }]), []);
    let r = answered(await probe(port));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-load-balancing-endpoint-weight'), '2');
    assert.deepEqual(JSON.parse(r.body), { service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });
    r = answered(await probe(port, '/healthz'));
    assert.equal(r.status, 200, 'any path answers, as kube-proxy');

    assert.deepEqual(await hc.update([{ namespace: 'default', name: 'web', port, localEndpoints: 0 }]), []);
    r = answered(await probe(port));
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('x-load-balancing-endpoint-weight'), '0');
    assert.deepEqual(JSON.parse(r.body), { service: { namespace: 'default', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true });
  } finally {
    await hc.close();
  }
});

test('503 while the agent is unhealthy, the node is not eligible, or the agent shuts down', async () => {
  let t = 1_000_000;
  const health = new HealthState({ syncPeriodMs: 1_000, now: () => t });
  const hc = new HealthCheckNodePorts({ addresses: ['127.0.0.1'], health });
  const port = await freePort();
  try {
    await hc.update([{ namespace: 'shop', name: 'cart', port, localEndpoints: 1 }]);
    assert.equal(answered(await probe(port)).status, 200);

    health.queued();
    t += 2_001;
    let r = answered(await probe(port));
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).serviceProxyHealthy, false);
    assert.equal(r.headers.get('x-load-balancing-endpoint-weight'), '1');
    health.synced();
    assert.equal(answered(await probe(port)).status, 200);

    health.nodeEligible(false);
    assert.equal(answered(await probe(port)).status, 503);
    health.nodeEligible(true);
    assert.equal(answered(await probe(port)).status, 200);

    health.shuttingDown();
    r = answered(await probe(port));
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).serviceProxyHealthy, false);
  } finally {
    await hc.close();
  }
});

test('listeners close when a service goes away or moves, and after close()', async () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  const hc = new HealthCheckNodePorts({ addresses: ['127.0.0.1'], health });
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
  try {
    await hc.update([
      { namespace: 'a', name: 'one', port: p1, localEndpoints: 1 },
      { namespace: 'a', name: 'two', port: p2, localEndpoints: 1 },
      { namespace: 'a', name: 'none', port: 0, localEndpoints: 1 },
    ]);
    assert.deepEqual(
      hc.listening(),
      new Map([
        ['a/one', p1],
        ['a/two', p2],
      ]),
    );
    assert.equal(answered(await probe(p2)).status, 200);

    await hc.update([{ namespace: 'a', name: 'one', port: p3, localEndpoints: 1 }]);
    assert.equal(await probe(p2), 'refused', 'removed service closed');
    assert.equal(await probe(p1), 'refused', 'moved service closed its old port');
    assert.equal(answered(await probe(p3)).status, 200);
  } finally {
    await hc.close();
  }
  assert.equal(await probe(p3), 'refused');
  assert.deepEqual(await hc.update([{ namespace: 'a', name: 'one', port: p3, localEndpoints: 1 }]), [], 'closed: no-op');
  assert.equal(await probe(p3), 'refused');
});

test('a taken port is a warning on that service, retried on the next update; others still serve', async () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  const hc = new HealthCheckNodePorts({ addresses: ['127.0.0.1'], health });
  const squatter: Server = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  const taken = (squatter.address() as { port: number }).port;
  const free = await freePort();
  try {
    const services = [
      { namespace: 'b', name: 'blocked', port: taken, localEndpoints: 1 },
      { namespace: 'b', name: 'fine', port: free, localEndpoints: 1 },
    ];
    const warnings = await hc.update(services);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].object, 'Service b/blocked');
    assert.equal(warnings[0].code, 'EADDRINUSE');
    assert.equal(warnings[0].port, taken);
    assert.equal(warnings[0].address, '127.0.0.1');
    assert.match(warnings[0].message, /port already in use/);
    assert.equal(answered(await probe(free)).status, 200);
    assert.deepEqual([...hc.listening().keys()], ['b/fine']);

    assert.equal((await hc.update(services)).length, 1, 'still taken: warned again');
    await new Promise<void>((r) => squatter.close(() => r()));
    assert.deepEqual(await hc.update(services), [], 'freed: opened on retry');
    assert.equal(answered(await probe(taken)).status, 200);
  } finally {
    if (squatter.listening) await new Promise<void>((r) => squatter.close(() => r()));
    await hc.close();
  }
});

test('all addresses: IPv4 and IPv6 wildcards side by side', async () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  const hc = new HealthCheckNodePorts({ addresses: ['0.0.0.0', '::'], health });
  const port = await freePort();
  try {
    assert.deepEqual(await hc.update([{ namespace: 'c', name: 'dual', port, localEndpoints: 3 }]), []);
    const r = answered(await probe(port));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-load-balancing-endpoint-weight'), '3');
  } finally {
    await hc.close();
  }
});

test('concurrent updates do not open a port twice', async () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  const hc = new HealthCheckNodePorts({ addresses: ['127.0.0.1'], health });
  const port = await freePort();
  try {
    const svc = [{ namespace: 'd', name: 'race', port, localEndpoints: 1 }];
    const [w1, w2] = await Promise.all([hc.update(svc), hc.update(svc)]);
    assert.deepEqual([w1, w2], [[], []]);
    assert.equal(answered(await probe(port)).status, 200);
  } finally {
    await hc.close();
  }
});

test('addresses must be IP literals', () => {
  const health = new HealthState({ syncPeriodMs: 1_000 });
  assert.throws(() => new HealthCheckNodePorts({ addresses: [], health }), RangeError);
  assert.throws(() => new HealthCheckNodePorts({ addresses: ['localhost'], health }), /not an IP address: "localhost"/);
  assert.doesNotThrow(() => new HealthCheckNodePorts({ addresses: ['192.168.0.10', 'fd00::10'], health }));
});
