// A one-shot sync (the agent's once(), what `run --once` runs) with --status-redis: its result is
// published like any sync, and the publisher's settle() says when it is written. Its start pass
// and its sync pass each log their own kernel writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FleetPublisher } from '../../../src/fleet/publisher.js';
import { readFleet } from '../../../src/fleet/reader.js';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { agentWorld, sliceFor, svc } from '../faults/agent-world.js';
import { freePort, startRedis } from './helpers/redis-server.js';

test('once() with a fleet publisher: the result is in Redis when settle() resolves; each pass logs its own writes', { timeout: 60_000 }, async () => {
  const redis = await startRedis(await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'once-publish-'));
  writeFileSync(join(dir, 'a.yaml'), [svc(0), sliceFor(0), svc(1), sliceFor(1)].map((o) => stringify(o)).join('---\n'));
  const fleet = new FleetPublisher({ url: redis.url, nodeName: 'node-a', agentVersion: 't', ttlMs: 30_000, connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 });
  const world = agentWorld(new ManifestSource({ path: dir }), { fleet });
  try {
    const { start, sync } = await world.agent.once();
    assert.equal(await fleet.settle(5_000), true);
    const nodes = await readFleet(redis.url, { connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 });
    const record = nodes.find((n) => n.name === 'node-a')?.record;
    assert.ok(record, JSON.stringify(nodes));
    assert.deepEqual(record.counts, { virtualServers: 2, realServers: 2, addresses: 2 });
    assert.ok(record.lastSync !== null);

    const startLine = world.logger.lines.find((l) => l.message.startsWith('start: '));
    const syncLine = world.logger.lines.find((l) => l.message.startsWith('sync: '));
    assert.ok(startLine && syncLine, world.logger.lines.map((l) => l.message).join('\n'));
    assert.match(startLine.message, new RegExp(` ${start.kernelWrites} kernel writes`));
    assert.match(syncLine.message, new RegExp(` ${sync.kernelWrites} kernel writes`));
    assert.ok(sync.kernelWrites > 0);
  } finally {
    await world.stop();
    fleet.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('settle() gives up at its deadline when Redis is away', { timeout: 20_000 }, async () => {
  const fleet = new FleetPublisher({
    url: `redis://127.0.0.1:${await freePort()}`,
    nodeName: 'n',
    agentVersion: 't',
    ttlMs: 3_000,
    connectTimeoutMs: 200,
    commandTimeoutMs: 200,
  });
  try {
    fleet.publish({
      at: Date.now(),
      durationMs: 1,
      ok: true,
      healthy: true,
      counts: { virtualServers: 0, realServers: 0, addresses: 0 },
      digest: 'a'.repeat(64),
      resourceVersions: { services: '1', endpointSlices: '1' },
    });
    const t0 = Date.now();
    assert.equal(await fleet.settle(500), false);
    assert.ok(Date.now() - t0 < 2_000);
  } finally {
    fleet.close();
  }
});
