// The first sync's progress lines inside a long stage: a cold sync's IPVS stage of 40,000 real
// servers against a kernel that takes 2.4 s per call says how far it has got, on the injected clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FirstSyncProgress } from '../../../src/agent/progress.js';
import type { IpvsOp, OpResult } from '../../../src/vocabulary/ipvs.js';
import { IPVS_APPLY_CHUNK } from '../../../src/proxier/apply.js';
import { Proxier } from '../../../src/proxier/proxier.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeIpvs } from '../../support/fake-ipvs.js';
import { RecordingLogger } from '../faults/agent-world.js';
import { desiredVs, noChange, real, SETTINGS, SettledSysctl, state, vs, world } from '../proxier/helpers.js';

/** A kernel that takes `ms` of the fake clock per call, however many operations it is given. */
class SlowIpvs extends FakeIpvs {
  calls = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly ms: number,
  ) {
    super();
  }
  override async apply(ops: readonly IpvsOp[]): Promise<OpResult[]> {
    this.calls++;
    await this.clock.advance(this.ms);
    return super.apply(ops);
  }
}

test('a long IPVS stage of the first sync logs how many of its operations are applied so far', async () => {
  const w = world();
  const ipvs = new SlowIpvs(w.clock, 2400);
  const logger = new RecordingLogger();
  const progress = new FirstSyncProgress(logger, 5000, w.clock);
  const services = 4000;
  const desired = state(
    Array.from({ length: services }, (_, i) =>
      desiredVs(
        vs(`10.96.${i >> 8}.${i & 255}`, 80),
        Array.from({ length: 10 }, (_, k) => real(`10.244.${i >> 8}.${i & 255}`, 9000 + k, 1, `web-${i}-${k}`)),
      ),
    ),
    [],
  );
  const proxier = new Proxier({
    ipvs,
    links: w.links,
    stateStore: w.store,
    conntrack: w.conntrack,
    sysctl: new SettledSysctl(),
    clock: w.clock,
    settings: SETTINGS,
    onPassProgress: (stage) => progress.at(stage),
  });
  await proxier.start(desired);
  progress.begin();
  const r = await proxier.sync(noChange(desired));
  progress.done();
  assert.deepEqual(r.errors, []);
  assert.equal(r.realServers, services * 10);
  // 4000 virtual servers in one call, 40,000 real servers in five (4 x 8192, 7232): lines at 5 s
  // (one call of the stage done) and 10 s (three done).
  assert.equal(IPVS_APPLY_CHUNK, 8192);
  assert.equal(ipvs.calls, 6);
  const lines = logger.matching('info', /^first sync in progress/).map((l) => l.message);
  assert.ok(
    lines.some((l) =>
      /^first sync in progress \(5\.0 s\): .*programming: IPVS stage 2 of 2: 8192 of 40000 addReal operations applied \(4000 written before the stage\)$/.test(
        l,
      ),
    ),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /\(10\.0 s\): .*IPVS stage 2 of 2: 24576 of 40000 addReal operations applied/.test(l)),
    lines.join('\n'),
  );
  // Steady: one line per interval of the fake clock, no more.
  assert.equal(lines.length, Math.floor(w.clock.now() / 5000));
  assert.equal(w.clock.pending, 0, 'done() leaves no timer behind');
});

test('progress lines come at the interval of the injected clock and stop at done()', async () => {
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  const progress = new FirstSyncProgress(logger, 5000, clock);
  progress.begin();
  progress.countRead(120);
  progress.at('reading: manifests: 3 of 8 files parsed, 120 objects');
  await clock.advance(4999);
  assert.equal(logger.lines.length, 0, 'a quick start logs nothing');
  await clock.advance(1);
  await clock.advance(5000);
  assert.deepEqual(
    logger.lines.map((l) => l.message),
    [
      'first sync in progress (5.0 s): 120 objects read; reading: manifests: 3 of 8 files parsed, 120 objects',
      'first sync in progress (10.0 s): 120 objects read; reading: manifests: 3 of 8 files parsed, 120 objects',
    ],
  );
  progress.done();
  await clock.advance(20_000);
  assert.equal(logger.lines.length, 2);
});
