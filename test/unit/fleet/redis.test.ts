// The fleet view against a real redis-server started on a loopback port.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetPublisher, type FleetEvent, type SyncReport } from '../../../src/fleet/publisher.js';
import { analyzeFleet, formatFleet, readFleet, type FleetView } from '../../../src/fleet/reader.js';
import { FleetConfigError, FleetUnavailableError } from '../../../src/fleet/connection.js';
import { nodeKey, REGISTRY_KEY } from '../../../src/fleet/record.js';
import { freePort, startBlackHole, startRedis, waitFor, type RedisProcess } from './helpers/redis-server.js';

const TTL = 1_500;
const DIGEST = 'd1'.repeat(32);
const OTHER = 'e2'.repeat(32);

function report(over: Partial<SyncReport> = {}): SyncReport {
  return {
    at: Date.now(),
    durationMs: 7,
    ok: true,
    healthy: true,
    counts: { virtualServers: 12, realServers: 30, addresses: 6 },
    digest: DIGEST,
    resourceVersions: { services: '1000', endpointSlices: '2000' },
    driftFound: 0,
    networkProgrammingMs: [],
    ...over,
  };
}

function publisher(url: string, nodeName: string, events: FleetEvent[] = []): FleetPublisher {
  return new FleetPublisher({
    url,
    nodeName,
    agentVersion: '0.1.0-test',
    ttlMs: TTL,
    heartbeatMs: 250,
    connectTimeoutMs: 500,
    commandTimeoutMs: 300,
    minBackoffMs: 50,
    maxBackoffMs: 300,
    onEvent: (e) => events.push(e),
  });
}

async function view(url: string): Promise<FleetView> {
  return analyzeFleet(await readFleet(url, { connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 }), Date.now());
}

// Every test has a deadline: a hang fails the run instead of blocking it.
describe('fleet view with a real redis-server', { timeout: 60_000 }, () => {
  let redis: RedisProcess;
  const pubs: FleetPublisher[] = [];
  const eventsA: FleetEvent[] = [];

  before(async () => {
    redis = await startRedis(await freePort());
  });

  after(async () => {
    for (const p of pubs) p.close();
    await redis?.stop();
  });

  it('three nodes publish; all show healthy and agreeing, with fleet-wide latency', async () => {
    const a = publisher(redis.url, 'node-a', eventsA);
    const b = publisher(redis.url, 'node-b');
    const c = publisher(redis.url, 'node-c');
    pubs.push(a, b, c);
    for (const p of pubs) p.start();
    a.publish(report({ networkProgrammingMs: Array.from({ length: 90 }, () => 3) }));
    b.publish(report({ networkProgrammingMs: Array.from({ length: 9 }, () => 20) }));
    c.publish(report({ networkProgrammingMs: [900] }));

    const v = await waitFor('three healthy nodes with their samples', async () => {
      const x = await view(redis.url);
      return x.summary.healthy === 3 && x.latency.count === 100 ? x : undefined;
    });
    assert.deepEqual(
      v.nodes.map((n) => [n.node, n.state, n.agreement]),
      [
        ['node-a', 'healthy', 'agrees'],
        ['node-b', 'healthy', 'agrees'],
        ['node-c', 'healthy', 'agrees'],
      ],
    );
    // 90 x 3 ms, 9 x 20 ms, 1 x 900 ms: p50 is 3 ms and p99 (rank 99) is 20 ms, within bucket error.
    assert.ok(Math.abs(v.latency.p50Ms! - 3) / 3 < 0.045, `p50 ${v.latency.p50Ms}`);
    assert.ok(Math.abs(v.latency.p99Ms! - 20) / 20 < 0.045, `p99 ${v.latency.p99Ms}`);
    const nodeC = v.nodes.find((n) => n.node === 'node-c')!;
    assert.equal(nodeC.latency!.count, 1);
    assert.deepEqual(nodeC.counts, { virtualServers: 12, realServers: 30, addresses: 6 });

    const text = formatFleet(await readFleet(redis.url), Date.now());
    for (const n of ['node-a', 'node-b', 'node-c']) assert.match(text, new RegExp(`^${n}\\s+healthy\\s+.*agrees`, 'm'));
    assert.match(text, /3 nodes: 3 healthy, 0 unhealthy, 0 silent; 0 disagreeing/);
    assert.match(text, /p50 [23]\.\d+ms, p99 (19|20|21)\.?\d*ms over 100 samples/);
    assert.deepEqual(
      eventsA.map((e) => e.kind),
      ['available'],
    );
  });

  it('a node with a different desired state at the same resourceVersions shows as disagreeing', async () => {
    pubs[2].publish(report({ digest: OTHER }));
    const v = await waitFor('node-c disagreeing', async () => {
      const x = await view(redis.url);
      return x.summary.disagreeing === 1 ? x : undefined;
    });
    assert.deepEqual(
      v.nodes.map((n) => n.agreement),
      ['agrees', 'agrees', 'disagrees'],
    );
    assert.match(formatFleet(await readFleet(redis.url), Date.now()), /^node-c\s+healthy\s+.*e2e2e2e2e2e2\s+disagrees/m);
  });

  it('a stopped node turns silent after its TTL and stays listed', async () => {
    const b = pubs[1];
    b.close();
    const stoppedAt = Date.now();
    const v = await waitFor(
      'node-b silent',
      async () => {
        const x = await view(redis.url);
        return x.nodes.find((n) => n.node === 'node-b')?.state === 'silent' ? x : undefined;
      },
      TTL + 5_000,
    );
    assert.ok(Date.now() - stoppedAt >= TTL - 300, 'not silent before its TTL');
    assert.equal(v.summary.nodes, 3);
    assert.equal(v.summary.silent, 1);
    // Expired key, so the registry is what keeps it listed.
    const raw = await readFleet(redis.url);
    await waitFor(
      'node-b key expired',
      async () => ((await readFleet(redis.url)).find((n) => n.name === 'node-b')?.record === undefined ? true : undefined),
      TTL + 2_000,
    );
    assert.ok(raw.some((n) => n.name === 'node-b'));
    assert.match(formatFleet(await readFleet(redis.url), Date.now()), /^node-b\s+silent\s+/m);
  });

  it('Redis down, then a listener that never answers: publish never blocks; publishing resumes when Redis is back', async () => {
    const a = pubs[0];
    const port = redis.port;
    await redis.stop();
    const timings: number[] = [];
    const burst = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        a.publish(report({ networkProgrammingMs: [4] }));
        timings.push(performance.now() - t0);
      }
    };
    burst(200);
    await waitFor('unavailable event', async () => (eventsA.some((e) => e.kind === 'unavailable') ? true : undefined), 5_000);

    const hole = await startBlackHole(port);
    try {
      // Let the client connect to the silent listener, stall, give up and retry a few times.
      await waitFor('a connection to the black hole', async () => (hole.connections() >= 1 ? true : undefined), 5_000);
      const until = Date.now() + 2_000;
      while (Date.now() < until) {
        burst(20);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(hole.connections() >= 2, `the stalled connection was dropped and retried (${hole.connections()} connections)`);
      await assert.rejects(readFleet(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300, commandTimeoutMs: 300, timeoutMs: 1_000 }), FleetUnavailableError);
    } finally {
      await hole.stop();
    }
    const max = Math.max(...timings);
    assert.ok(max < 20, `every publish returned at once (max ${max.toFixed(2)} ms over ${timings.length})`);
    assert.equal(eventsA.filter((e) => e.kind === 'unavailable').length, 1, 'logged once per outage');

    const before = a.publishedCount;
    redis = await startRedis(port);
    // The restarted server is empty: the latest state must be published again without a new sync.
    const v = await waitFor(
      'node-a back',
      async () => {
        const x = await view(redis.url);
        return x.nodes.find((n) => n.node === 'node-a')?.state === 'healthy' ? x : undefined;
      },
      10_000,
    );
    assert.ok(a.publishedCount > before);
    assert.deepEqual(
      eventsA.map((e) => e.kind),
      ['available', 'unavailable', 'available'],
    );
    const nodeA = v.nodes.find((n) => n.node === 'node-a')!;
    assert.equal(nodeA.digest, DIGEST);
    assert.ok(nodeA.latency!.count >= 90 + timings.length, 'samples taken during the outage were kept (bounded histogram)');
  });
});

describe('fleet store configuration', { timeout: 30_000 }, () => {
  let redis: RedisProcess;
  let dir: string;
  before(async () => {
    redis = await startRedis(await freePort(), ['--requirepass', 's3cret pass']);
    dir = mkdtempSync(join(tmpdir(), 'fleet-'));
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('password from a file (trailing newline ignored) or REDIS_PASSWORD; a wrong one is an unavailable event', async () => {
    const file = join(dir, 'password');
    writeFileSync(file, 's3cret pass\n');
    const fromFile = new FleetPublisher({
      url: redis.url,
      passwordFile: file,
      nodeName: 'n1',
      agentVersion: 't',
      ttlMs: 5_000,
      commandTimeoutMs: 500,
      connectTimeoutMs: 500,
    });
    const evEnv: FleetEvent[] = [];
    const fromEnv = new FleetPublisher({
      url: redis.url,
      env: { REDIS_PASSWORD: 's3cret pass' },
      nodeName: 'n2',
      agentVersion: 't',
      ttlMs: 5_000,
      onEvent: (e) => evEnv.push(e),
    });
    const evBad: FleetEvent[] = [];
    const wrong = new FleetPublisher({
      url: redis.url,
      env: { REDIS_PASSWORD: 'nope' },
      nodeName: 'n3',
      agentVersion: 't',
      ttlMs: 5_000,
      minBackoffMs: 100,
      maxBackoffMs: 200,
      onEvent: (e) => evBad.push(e),
    });
    try {
      for (const p of [fromFile, fromEnv, wrong]) {
        p.start();
        p.publish(report());
      }
      const nodes = await waitFor('n1 and n2 published', async () => {
        const n = await readFleet(redis.url, { env: { REDIS_PASSWORD: 's3cret pass' } });
        return n.filter((x) => x.record).length === 2 ? n : undefined;
      });
      assert.deepEqual(nodes.map((n) => n.name).sort(), ['n1', 'n2']);
      assert.deepEqual(
        evEnv.map((e) => e.kind),
        ['available'],
      );
      await waitFor('wrong password reported', async () => (evBad.length > 0 ? true : undefined), 5_000);
      assert.equal(evBad[0].kind, 'unavailable');
      assert.ok(!('error' in evBad[0]) || !evBad[0].error.includes('nope'), 'the password is never in a message');
      await assert.rejects(readFleet(redis.url, { env: {} }), FleetUnavailableError);
    } finally {
      for (const p of [fromFile, fromEnv, wrong]) p.close();
    }
  });

  it('keys are namespaced and hold nothing but the documented record', async () => {
    const p = new FleetPublisher({ url: redis.url, env: { REDIS_PASSWORD: 's3cret pass' }, nodeName: 'keys-node', agentVersion: 't', ttlMs: 5_000 });
    p.start();
    p.publish(report());
    try {
      const nodes = await waitFor('keys-node', async () => {
        const n = await readFleet(redis.url, { env: { REDIS_PASSWORD: 's3cret pass' } });
        return n.find((x) => x.name === 'keys-node' && x.record) ? n : undefined;
      });
      const rec = nodes.find((x) => x.name === 'keys-node')!.record!;
      assert.deepEqual(Object.keys(rec).sort(), [
        'agentVersion',
        'counts',
        'digest',
        'drift',
        'errors',
        'healthy',
        'lastSync',
        'latency',
        'node',
        'publishedAt',
        'resourceVersions',
        'ttlMs',
        'v',
      ]);
      assert.equal(nodeKey('keys-node'), 'ipvs-proxy:v1:node:keys-node');
      assert.equal(REGISTRY_KEY, 'ipvs-proxy:v1:nodes');
      assert.doesNotMatch(JSON.stringify(rec), /s3cret/);
    } finally {
      p.close();
    }
  });

  it('bad URLs and unreadable password files are configuration errors', () => {
    assert.throws(() => new FleetPublisher({ url: 'http://x:6379', nodeName: 'n', agentVersion: 't', ttlMs: 1_000 }), FleetConfigError);
    assert.throws(() => new FleetPublisher({ url: 'not a url', nodeName: 'n', agentVersion: 't', ttlMs: 1_000 }), FleetConfigError);
    assert.throws(
      () => new FleetPublisher({ url: 'redis://127.0.0.1:1', passwordFile: join(dir, 'missing'), nodeName: 'n', agentVersion: 't', ttlMs: 1_000 }),
      (e: unknown) => e instanceof FleetConfigError && e.setting === 'status-redis-password-file',
    );
    const tls = new FleetPublisher({ url: 'rediss://127.0.0.1:1', nodeName: 'n', agentVersion: 't', ttlMs: 1_000 });
    tls.close();
  });
});
