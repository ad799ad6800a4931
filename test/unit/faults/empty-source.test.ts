// A start whose manifests yield nothing (a typo'd path, an empty directory, every file malformed)
// after an agent served services over the same kernel (fake) and record: the kernel is kept,
// the error names the path and the reason, /healthz fails, --once refuses; only a source still
// empty a confirmation delay later is believed. A running agent whose files are removed keeps
// their services until the removal is confirmed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EmptySourceError } from '../../../src/agent/agent.js';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { HealthState } from '../../../src/ops/health.js';
import { FileStateStore } from '../../../src/proxier/state-record.js';
import { agentWorld, nodeLinks, sleep, sliceFor, svc, tableText, until, WatchedIpvs } from './agent-world.js';

function manifests(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) docs.push(stringify(svc(i)), stringify(sliceFor(i)));
  return docs.join('---\n');
}

/** A kernel and record as a first agent left them, serving three services from dir/cluster.yaml. */
async function served(): Promise<{ root: string; dir: string; stateDir: string; ipvs: WatchedIpvs; links: ReturnType<typeof nodeLinks>; table: string }> {
  const root = mkdtempSync(join(tmpdir(), 'empty-source-'));
  const dir = join(root, 'manifests');
  mkdirSync(dir);
  writeFileSync(join(dir, 'cluster.yaml'), manifests(3));
  const stateDir = join(root, 'state');
  const ipvs = new WatchedIpvs();
  const links = nodeLinks();
  const first = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 100 }), { ipvs, links, store: new FileStateStore(stateDir) });
  await first.agent.run();
  await until('three services', async () => (await first.count()) === 3);
  await first.stop();
  return { root, dir, stateDir, ipvs, links, table: await tableText(ipvs) };
}

const CASES: { name: string; damage: (dir: string) => string; reason: RegExp }[] = [
  { name: "a typo'd path", damage: (dir) => `${dir}-typo`, reason: /manifests: cannot read .*-typo: ENOENT/ },
  { name: 'an empty directory', damage: (dir) => (unlinkSync(join(dir, 'cluster.yaml')), dir), reason: /manifests: .*manifests lists no Service/ },
  {
    name: 'only malformed files',
    damage: (dir) => (writeFileSync(join(dir, 'cluster.yaml'), 'kind: Service\n  metadata: [\n'), dir),
    reason: /no file under .* could be loaded/,
  },
];

for (const c of CASES) {
  test(`a start with ${c.name}: kernel kept, error with path and reason, unhealthy; believed only when still empty 30 s (here 600 ms) later`, async () => {
    const w0 = await served();
    const path = c.damage(w0.dir);
    const health = new HealthState({ syncPeriodMs: 200 });
    const w = agentWorld(new ManifestSource({ path, debounceMs: 20, pollIntervalMs: 100 }), {
      ipvs: w0.ipvs,
      links: w0.links,
      store: new FileStateStore(w0.stateDir),
      health,
      emptySourceConfirmMs: 600,
      settings: { manifests: path },
    });
    try {
      const startedAt = Date.now();
      await w.agent.run();
      await sleep(300);
      assert.equal(await tableText(w0.ipvs), w0.table, 'the kernel is as the first agent left it');
      const errors = w.logger.matching('error', /the source yields nothing/);
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, c.reason);
      assert.match(errors[0].message, /owns 3 virtual servers and 3 addresses; the kernel is left as it is/);
      assert.equal(health.snapshot().healthy, false);
      await until('believed after the delay', async () => (await w.count()) === 0);
      assert.ok(Date.now() - startedAt >= 600);
      assert.equal(w.logger.matching('warn', /still after 0\.6 s: believing it; deleting 3 virtual servers and 3 addresses/).length, 1);
      assert.ok(!health.snapshot().problems.some((p) => /the source yields nothing/.test(p)), 'no longer held');
    } finally {
      await w.stop();
      rmSync(w0.root, { recursive: true, force: true });
    }
  });
}

test('a start held for an empty directory goes ahead as soon as the files come back, deleting nothing', async () => {
  const w0 = await served();
  unlinkSync(join(w0.dir, 'cluster.yaml'));
  const w = agentWorld(new ManifestSource({ path: w0.dir, debounceMs: 20, pollIntervalMs: 100 }), {
    ipvs: w0.ipvs,
    links: w0.links,
    store: new FileStateStore(w0.stateDir),
    emptySourceConfirmMs: 60_000,
  });
  try {
    await w.agent.run();
    writeFileSync(join(w0.dir, 'cluster.yaml'), manifests(4));
    await until('the fourth service', async () => (await w.count()) === 4);
    assert.deepEqual(w0.ipvs.deletedServices, []);
  } finally {
    await w.stop();
    rmSync(w0.root, { recursive: true, force: true });
  }
});

test('--once with a source that yields nothing while the record lists objects: EmptySourceError, no kernel write', async () => {
  const w0 = await served();
  const writes = w0.ipvs.writes + w0.links.writes;
  const w = agentWorld(new ManifestSource({ path: `${w0.dir}-typo`, debounceMs: 20, pollIntervalMs: 100 }), {
    ipvs: w0.ipvs,
    links: w0.links,
    store: new FileStateStore(w0.stateDir),
  });
  try {
    await assert.rejects(w.agent.once(), (err: Error) => err instanceof EmptySourceError && /-typo: ENOENT.*the kernel is left as it is/.test(err.message));
    assert.equal(w0.ipvs.writes + w0.links.writes, writes);
  } finally {
    await w.stop();
    rmSync(w0.root, { recursive: true, force: true });
  }
});

test('a running agent whose manifest files are removed keeps serving until the removal is confirmed, unhealthy meanwhile', async () => {
  const root = mkdtempSync(join(tmpdir(), 'empty-source-'));
  const file = join(root, 'cluster.yaml');
  writeFileSync(file, manifests(3));
  const health = new HealthState({ syncPeriodMs: 200 });
  const w = agentWorld(new ManifestSource({ path: root, debounceMs: 20, pollIntervalMs: 100, vanishedConfirmMs: 800 }), { health });
  try {
    await w.agent.run();
    await until('three services', async () => (await w.count()) === 3);
    await until('healthy', () => health.snapshot().healthy);
    unlinkSync(file);
    const removedAt = Date.now();
    await until('the removal noticed', () => !health.snapshot().healthy);
    assert.match(health.snapshot().problems.join(), /cluster\.yaml vanished/);
    await sleep(300);
    assert.equal(await w.count(), 3, 'still served');
    await until('deleted once confirmed', async () => (await w.count()) === 0);
    assert.ok(Date.now() - removedAt >= 800);
    assert.equal(w.logger.matching('warn', /cluster\.yaml still gone after 0\.8 s: deleting its 6 object\(s\)/).length, 1);
  } finally {
    await w.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('an agent whose every pass fails (the state dir is a file) writes nothing and turns unhealthy after the sync period plus a margin', async () => {
  const root = mkdtempSync(join(tmpdir(), 'empty-source-'));
  writeFileSync(join(root, 'cluster.yaml'), manifests(2));
  const stateDir = join(root, 'state-is-a-file');
  writeFileSync(stateDir, '');
  const health = new HealthState({ syncPeriodMs: 200 });
  const w = agentWorld(new ManifestSource({ path: root, debounceMs: 20, pollIntervalMs: 100 }), { health, store: new FileStateStore(stateDir) });
  try {
    await w.agent.run();
    await until(
      'a failed pass logged',
      () => w.logger.matching('error', /pass failed: nothing written to the kernel, the claim failed: .*state-is-a-file: not a directory/).length > 0,
    );
    await until('unhealthy', () => !health.snapshot().healthy, 3_000);
    assert.equal(w.ipvs.writes + w.links.writes, 0);
  } finally {
    await w.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
