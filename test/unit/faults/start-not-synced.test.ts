// The agent's start pass reads the kernel and adopts what is ours; it programs nothing. Until the
// first sync has written the desired state, /healthz must not report a sync and the fleet view
// must not hear of the node: the start pass once counted as one, so three agents showed as
// synced and agreeing on the desired state's digest while their first sync was still writing
// the kernel (found by test/kernel/fleet-e2e.test.ts, which read an IPVS table without its real
// servers at that moment).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FleetPublisher } from '../../../src/fleet/publisher.js';
import type { IpvsOp, OpResult } from '../../../src/vocabulary/ipvs.js';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { HealthState } from '../../../src/ops/health.js';
import { agentWorld, RecordingFleet, sliceFor, svc, until, WatchedIpvs } from './agent-world.js';

/** IPVS whose writes wait until release(): the first sync is held mid-way. */
class GatedIpvs extends WatchedIpvs {
  entered = false;
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  release(): void {
    this.open();
  }
  override async apply(ops: readonly IpvsOp[]): Promise<OpResult[]> {
    this.entered = true;
    await this.gate;
    return super.apply(ops);
  }
}

test('health and the fleet view hear of no sync until the first sync has programmed the kernel', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-report-'));
  writeFileSync(join(dir, 'a.yaml'), [0, 1].flatMap((i) => [stringify(svc(i)), stringify(sliceFor(i))]).join('---\n'));
  const ipvs = new GatedIpvs();
  const health = new HealthState({ syncPeriodMs: 30_000, firstSyncPending: true });
  const fleet = new RecordingFleet();
  const world = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 100 }), {
    ipvs,
    health,
    fleet: fleet as unknown as FleetPublisher,
    settings: { syncPeriodMs: 30_000 },
  });
  try {
    await world.agent.run();
    await until('the first sync to reach IPVS', () => ipvs.entered);
    assert.equal(health.snapshot().lastUpdated, undefined, 'no sync completed yet: lastUpdated stays unset');
    assert.notEqual(health.snapshot().oldestPending, undefined, 'the first sync is still pending for /healthz');
    assert.equal(fleet.reports.length, 0, 'nothing published before the first sync');
    assert.equal(world.logger.matching('debug', /^start: found 0 virtual servers, 0 real servers, 0 addresses of ours; 0 kernel writes/).length, 1);

    ipvs.release();
    await until('the first sync published', () => fleet.reports.length > 0);
    assert.deepEqual(fleet.reports[0]!.counts, { virtualServers: 2, realServers: 2, addresses: 2 });
    assert.equal(await world.count(), 2);
    assert.notEqual(health.snapshot().lastUpdated, undefined);
  } finally {
    ipvs.release();
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
