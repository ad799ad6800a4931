// After a large pass the agent hands the memory its kernel clients freed back to the system
// (the addon's malloc_trim): at 10,000 services the first sync's ops and records are tens of
// megabytes the C library would otherwise keep for the life of the process. A small change does
// not pay for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { loadNative, releaseFreeNativeMemory } from '../../../src/native/binding.js';
import { agentWorld, sliceFor, svc, until } from './agent-world.js';

const json = (objects: unknown[]): string => JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
const ips = (i: number, n: number): string[] => Array.from({ length: n }, (_, j) => `10.244.${i}.${j + 1}`);

test('a first sync of over a thousand writes releases freed memory; a one-endpoint change does not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memory-release-'));
  const file = join(dir, 'cluster.json');
  const cluster = (extra: number): unknown[] => Array.from({ length: 100 }, (_, i) => [svc(i), sliceFor(i, ips(i, i === 0 ? 10 + extra : 10))]).flat();
  writeFileSync(file, json(cluster(0)));
  let releases = 0;
  // A long sync period: no background check (which reads the whole table, and releases) runs.
  const world = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 50 }), {
    settings: { syncPeriodMs: 3_600_000 },
    releaseFreeMemory: () => void releases++,
  });
  try {
    await world.agent.run();
    await until('100 services x 10 endpoints programmed', () => world.ipvs.writes >= 1100);
    await until('the first sync reported', () => world.logger.matching('info', /^sync: 100 virtual servers/).length > 0);
    assert.equal(releases, 1, 'released once, after the first sync');
    const before = world.ipvs.writes;
    writeFileSync(file, json(cluster(1)));
    await until('the added endpoint programmed', () => world.ipvs.writes === before + 1);
    assert.equal(releases, 1, 'a one-write sync releases nothing');
  } finally {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the addon releases free C heap memory on request, and says whether any was released', () => {
  loadNative();
  assert.equal(typeof releaseFreeNativeMemory(), 'boolean');
  // Freed blocks large enough to leave whole pages free: glibc then has pages to return.
  const blocks = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(256 * 1024));
  blocks.length = 0;
  assert.equal(typeof releaseFreeNativeMemory(), 'boolean');
});
