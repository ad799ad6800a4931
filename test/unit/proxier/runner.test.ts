import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../support/fake-clock.js';
import { PassDeadlineError, SyncRunner, type PassKind, type RunnerTasks } from '../../../src/proxier/runner.js';
import type { SyncResult } from '../../../src/proxier/types.js';

function result(extra: Partial<SyncResult> = {}): SyncResult {
  return {
    virtualServers: 0,
    realServers: 0,
    addresses: 0,
    kernelWrites: 0,
    durationMs: 0,
    programmedMs: 0,
    errors: [],
    needsVerification: false,
    foreign: [],
    ...extra,
  };
}

/** Tasks that take `durationMs` of fake time each and record when they ran. */
class Tasks implements RunnerTasks {
  log: { kind: PassKind; at: number }[] = [];
  active = 0;
  maxActive = 0;
  durationMs = 100;
  drainAt: number | undefined;
  nextResult: Partial<SyncResult> = {};
  constructor(private readonly clock: FakeClock) {}
  private run(kind: PassKind): Promise<SyncResult> {
    this.log.push({ kind, at: this.clock.now() });
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const r = this.nextResult;
    this.nextResult = {};
    return new Promise((resolve) =>
      this.clock.setTimeout(() => {
        this.active--;
        resolve(result(r));
      }, this.durationMs),
    );
  }
  sync = () => this.run('sync');
  verify = () => this.run('verify');
  drainCheck = () => this.run('drain');
  nextDrainCheckAt = () => this.drainAt;
  kinds(): string {
    return this.log.map((l) => l.kind).join(',');
  }
}

function setup(minIntervalMs = 0, verifyIntervalMs = 30_000) {
  const clock = new FakeClock();
  const tasks = new Tasks(clock);
  const errors: Error[] = [];
  const runner = new SyncRunner(tasks, { clock, minIntervalMs, verifyIntervalMs, onError: (_k, e) => errors.push(e) });
  runner.start();
  return { clock, tasks, runner, errors };
}

test('requests arriving while a sync runs are coalesced into one more sync; syncs never overlap', async () => {
  const { clock, tasks, runner } = setup();
  runner.request();
  await clock.advance(10);
  for (let i = 0; i < 50; i++) runner.request();
  await clock.advance(1000);
  assert.equal(tasks.kinds(), 'sync,sync');
  assert.equal(tasks.maxActive, 1);
  assert.equal(runner.maxActive, 1);
  await runner.stop();
});

test('min interval with burst 2: two syncs back to back, then one per interval', async () => {
  const { clock, tasks, runner } = setup(1000);
  tasks.durationMs = 1;
  for (let i = 0; i < 5; i++) {
    runner.request();
    await clock.advance(2);
  }
  // burst of 2 at t=0 and t=2; the rest wait for a token
  assert.deepEqual(
    tasks.log.map((l) => l.at),
    [0, 2],
  );
  await clock.advance(1000);
  assert.equal(tasks.log.length, 3);
  assert.ok(tasks.log[2].at >= 1000 && tasks.log[2].at <= 1004, `third sync at ${tasks.log[2].at}`);
  await clock.advance(5000);
  assert.equal(tasks.log.length, 3, 'nothing pending, nothing runs');
  await runner.stop();
});

test('periodic verification every verify interval; a sync pending meanwhile is covered by it', async () => {
  const { clock, tasks, runner } = setup(0, 30_000);
  await clock.advance(30_000);
  assert.equal(tasks.kinds(), 'verify');
  runner.request();
  runner.requestVerify();
  await clock.advance(500);
  assert.equal(tasks.kinds(), 'verify,verify');
  await clock.advance(30_000);
  assert.equal(tasks.kinds(), 'verify,verify,verify');
  await runner.stop();
});

test('a full-comparison sync (the first after start) restarts the verification period', async () => {
  const { clock, tasks, runner } = setup(0, 30_000);
  tasks.durationMs = 45_000;
  tasks.nextResult = { fullCompare: true };
  runner.request();
  await clock.advance(46_000);
  assert.equal(tasks.kinds(), 'sync', 'no verification right after a 45 s first sync');
  tasks.durationMs = 100;
  await clock.advance(28_000);
  assert.equal(tasks.kinds(), 'sync');
  await clock.advance(1_500);
  assert.equal(tasks.kinds(), 'sync,verify');
  await runner.stop();
});

test('a pass that leaves the kernel in doubt is followed by a verification', async () => {
  const { clock, tasks, runner } = setup();
  tasks.nextResult = { needsVerification: true };
  runner.request();
  await clock.advance(500);
  assert.equal(tasks.kinds(), 'sync,verify');
  await runner.stop();
});

test('drain checks run when the proxier asks for them', async () => {
  const { clock, tasks, runner } = setup();
  tasks.drainAt = 1000;
  runner.request();
  await clock.advance(200);
  tasks.drainAt = undefined;
  await clock.advance(1000);
  assert.equal(tasks.kinds(), 'sync,drain');
  await runner.stop();
});

test('a pass past its deadline is reported at once; the next pass waits for it to end, then verifies', async () => {
  const clock = new FakeClock();
  const tasks = new Tasks(clock);
  const errors: Error[] = [];
  const results: PassKind[] = [];
  const runner = new SyncRunner(tasks, {
    clock,
    minIntervalMs: 0,
    verifyIntervalMs: 30_000,
    deadlineMs: 5_000,
    onError: (_k, e) => errors.push(e),
    onResult: (k) => results.push(k),
  });
  runner.start();
  tasks.durationMs = 20_000;
  runner.request();
  await clock.advance(5_000);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof PassDeadlineError);
  // Changes keep coming while the late pass still writes: none of them starts a second pass.
  tasks.durationMs = 10;
  for (let i = 0; i < 10; i++) {
    runner.request();
    runner.requestVerify();
    await clock.advance(1_000);
  }
  assert.equal(tasks.kinds(), 'sync', 'nothing else ran beside the late pass');
  assert.equal(runner.quiet(), false);
  await clock.advance(6_000);
  assert.deepEqual(results, ['sync', 'verify'], 'the late pass reports what it did when it ended');
  assert.equal(tasks.kinds(), 'sync,verify');
  assert.equal(tasks.maxActive, 1);
  assert.equal(runner.maxActive, 1);
  await runner.stop();
});

test('passes never overlap: deadlines, requests, verifications and drain checks at random', async () => {
  const clock = new FakeClock();
  const tasks = new Tasks(clock);
  const runner = new SyncRunner(tasks, { clock, minIntervalMs: 0, verifyIntervalMs: 3_000, deadlineMs: 1_000 });
  runner.start();
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 300; i++) {
    tasks.durationMs = Math.floor(random() * 3_000);
    tasks.drainAt = random() < 0.2 ? clock.now() + 100 : undefined;
    const r = random();
    if (r < 0.5) runner.request();
    else if (r < 0.7) runner.requestVerify();
    await clock.advance(Math.floor(random() * 700));
  }
  await clock.advance(10_000);
  assert.ok(tasks.log.length > 50, `${tasks.log.length} passes ran`);
  assert.equal(tasks.maxActive, 1, 'at most one pass at a time');
  assert.equal(runner.maxActive, 1);
  await runner.stop();
});

test('a pass that left writes pending is retried as a sync, backing off; a clean pass ends the retries', async () => {
  const { clock, tasks, runner } = setup(0, 60_000);
  tasks.durationMs = 10;
  tasks.nextResult = { pending: 2 };
  runner.request();
  await clock.advance(20);
  assert.equal(tasks.kinds(), 'sync');
  tasks.nextResult = { pending: 2 };
  await clock.advance(1_000);
  assert.equal(tasks.kinds(), 'sync,sync', 'retried after 1 s');
  await clock.advance(1_500);
  assert.equal(tasks.kinds(), 'sync,sync', 'the second retry waits 2 s');
  await clock.advance(600);
  assert.equal(tasks.kinds(), 'sync,sync,sync');
  await clock.advance(30_000);
  assert.equal(tasks.kinds(), 'sync,sync,sync', 'the clean pass ended the retries');
  await runner.stop();
});

test('a thrown pass is reported; idle() resolves once nothing is pending', async () => {
  const clock = new FakeClock();
  let calls = 0;
  const errors: string[] = [];
  const runner = new SyncRunner(
    {
      sync: async () => {
        calls++;
        throw new Error('boom');
      },
      verify: async () => result(),
      drainCheck: async () => result(),
      nextDrainCheckAt: () => undefined,
    },
    { clock, minIntervalMs: 0, verifyIntervalMs: 30_000, onError: (k, e) => errors.push(`${k}: ${e.message}`) },
  );
  runner.start();
  runner.request();
  await clock.advance(0);
  assert.equal(calls, 1);
  assert.deepEqual(errors, ['sync: boom']);
  await clock.advance(1000);
  await runner.idle();
  assert.equal(runner.counts.verify, 1);
  await runner.stop();
});

/** Tasks with a background check of `checkMs` fake time whose results come from `checkResults`. */
function setupWithCheck(checkMs: number, checkResults: (Partial<SyncResult> | Error)[]) {
  const clock = new FakeClock();
  const tasks = new Tasks(clock);
  const checks: { start: number; end: number }[] = [];
  const withCheck = Object.assign(tasks, {
    check: (): Promise<SyncResult> => {
      const start = clock.now();
      tasks.log.push({ kind: 'check', at: start });
      const next = checkResults.shift() ?? {};
      return new Promise((resolve, reject) =>
        clock.setTimeout(() => {
          checks.push({ start, end: clock.now() });
          if (next instanceof Error) reject(next);
          else resolve(result(next));
        }, checkMs),
      );
    },
  });
  const errors: [PassKind, Error][] = [];
  const results: PassKind[] = [];
  const runner = new SyncRunner(withCheck, {
    clock,
    minIntervalMs: 0,
    verifyIntervalMs: 30_000,
    onError: (k, e) => errors.push([k, e]),
    onResult: (k) => results.push(k),
  });
  runner.start();
  return { clock, tasks, runner, checks, errors, results };
}

test('with a check task, the periodic verification is a check that syncs run beside; no drift, no verify pass', async () => {
  const { clock, tasks, runner, checks } = setupWithCheck(5_000, [{}, {}]);
  await clock.advance(30_000);
  assert.equal(tasks.kinds(), 'check');
  // A change while the check reads and compares: synced at once, not after the check.
  await clock.advance(1_000);
  runner.request();
  await clock.advance(200);
  assert.equal(tasks.kinds(), 'check,sync');
  assert.equal(checks.length, 0, 'the sync ran while the check was still in flight');
  await clock.advance(4_000);
  assert.equal(checks.length, 1);
  // The next one a period after this one ended, and never a verify pass.
  await clock.advance(29_000);
  assert.equal(tasks.kinds(), 'check,sync');
  await clock.advance(2_000);
  assert.equal(tasks.kinds(), 'check,sync,check');
  await clock.advance(6_000);
  assert.equal(runner.counts.verify, 0);
  await runner.stop();
});

test('a check that finds drift, asks for verification, or fails brings one verify pass', async () => {
  for (const outcome of [{ drift: 'real server 10.244.1.2/9376 deleted by hand' }, { needsVerification: true }, new Error('ETIMEDOUT')]) {
    const { clock, tasks, runner, errors } = setupWithCheck(1_000, [outcome]);
    await clock.advance(31_500);
    assert.equal(tasks.kinds(), 'check,verify', JSON.stringify(outcome));
    if (outcome instanceof Error)
      assert.deepEqual(
        errors.map(([k]) => k),
        ['check'],
      );
    await clock.advance(1_000);
    assert.equal(tasks.kinds(), 'check,verify', 'one verify pass, then a period until the next check');
    await clock.advance(30_000);
    assert.equal(tasks.kinds(), 'check,verify,check');
    await runner.stop();
  }
});

test('with a check task, a pass that threw is followed by verify passes, backing off, until one succeeds (a check would find nothing applied to compare)', async () => {
  const { clock, tasks, runner, errors } = setupWithCheck(1_000, []);
  let throwing = 2;
  const verify = tasks.verify;
  tasks.sync = () => {
    tasks.log.push({ kind: 'sync', at: clock.now() });
    return Promise.reject(new Error('claim failed'));
  };
  tasks.verify = () => (throwing-- > 0 ? (tasks.log.push({ kind: 'verify', at: clock.now() }), Promise.reject(new Error('claim failed'))) : verify());
  runner.request();
  await clock.advance(0);
  await clock.advance(1_000);
  assert.equal(tasks.kinds(), 'sync,verify', 'a verify pass 1 s after the failure');
  await clock.advance(2_000);
  assert.equal(tasks.kinds(), 'sync,verify,verify', 'then 2 s');
  await clock.advance(4_100);
  assert.equal(tasks.kinds(), 'sync,verify,verify,verify', 'then 4 s, and this one succeeds');
  assert.equal(errors.length, 3);
  await clock.advance(10_000);
  assert.equal(tasks.kinds(), 'sync,verify,verify,verify', 'no more passes until the period');
  await runner.stop();
});

test('a requested verification (doubt) is a verify pass even with a check task', async () => {
  const { clock, tasks, runner } = setupWithCheck(1_000, []);
  runner.requestVerify();
  await clock.advance(200);
  assert.equal(tasks.kinds(), 'verify');
  await runner.stop();
});

test('stop() waits for a check in flight; idle() waits for it too', async () => {
  const { clock, runner, checks } = setupWithCheck(5_000, [{}]);
  await clock.advance(30_000);
  let idle = false;
  void runner.idle().then(() => (idle = true));
  await clock.advance(1_000);
  assert.equal(idle, false, 'not idle while the check runs');
  const stopped = runner.stop();
  await clock.advance(5_000);
  await stopped;
  assert.equal(checks.length, 1);
  assert.equal(idle, true);
});

test('quiet(): no pass running or pending, whether or not a check is in flight', async () => {
  const { clock, runner } = setupWithCheck(5_000, [{}]);
  assert.equal(runner.quiet(), true);
  await clock.advance(30_000);
  assert.equal(runner.quiet(), true, 'a check alone is quiet');
  runner.request();
  assert.equal(runner.quiet(), false, 'a sync runs');
  await clock.advance(200);
  assert.equal(runner.quiet(), true);
  await clock.advance(5_000);
  await runner.stop();
});
