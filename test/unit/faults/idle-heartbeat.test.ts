// An idle agent (nothing changes in the cluster) still tells the fleet view and /healthz it is
// alive: the periodic verification runs as a background check, and a clean check on a quiet node
// is published like a pass (drift 0). Without it an idle node went silent after its TTL, three
// sync periods (found by test/kernel/fleet-e2e.test.ts). A check that finds drift publishes
// nothing itself: the verification pass that repairs it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FleetPublisher } from '../../../src/fleet/publisher.js';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { HealthState } from '../../../src/ops/health.js';
import { agentWorld, RecordingFleet, sliceFor, sleep, svc, until } from './agent-world.js';

test('an idle agent publishes a heartbeat every verification period; drift is published by the repair', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idle-heartbeat-'));
  writeFileSync(join(dir, 'a.yaml'), [0, 1].flatMap((i) => [stringify(svc(i)), stringify(sliceFor(i))]).join('---\n'));
  const health = new HealthState({ syncPeriodMs: 200, firstSyncPending: true });
  const fleet = new RecordingFleet();
  const world = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 100 }), {
    health,
    fleet: fleet as unknown as FleetPublisher,
    settings: { syncPeriodMs: 200 },
  });
  try {
    await world.agent.run();
    await until('the first sync published', () => fleet.reports.length > 0);
    const afterFirst = fleet.reports.length;
    const firstUpdate = health.snapshot().lastUpdated;
    await sleep(1_000);
    const published = fleet.reports.slice(afterFirst);
    const beats = published.filter((r) => r.driftFound === 0);
    assert.ok(beats.length >= 3, `about one check published per 200 ms period while idle, got ${beats.length} of ${published.length} publishes`);
    for (const b of published) assert.deepEqual(b.counts, { virtualServers: 2, realServers: 2, addresses: 2 });
    assert.ok((health.snapshot().lastUpdated ?? 0) > (firstUpdate ?? 0), '/healthz lastUpdated moves on while idle');
    assert.equal(world.ipvs.writes, 4, 'the checks wrote nothing: 2 virtual servers and 2 real servers in all');

    // Drift made by hand: the repair pass publishes the objects it wrote.
    const [entry] = await world.ipvs.dump();
    await world.ipvs.apply([{ op: 'deleteReal', service: entry!.service, real: entry!.reals[0]! }]);
    await until('the repair published', () => fleet.reports.some((r) => (r.driftFound ?? 0) > 0));
    assert.equal(fleet.reports.find((r) => (r.driftFound ?? 0) > 0)?.driftFound, 1);
    assert.equal(
      world.logger.matching('info', /^check: .*; drift: virtual server TCP\/10\.96\.0\.\d\/80 differs from what was programmed; a full verification follows$/)
        .length >= 1,
      true,
    );
  } finally {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
