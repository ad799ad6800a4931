// A bounded-frequency runner (kube-proxy's BoundedFrequencyRunner, extended): change requests are
// coalesced into syncs no more often than minIntervalMs (with a burst), a verification runs every
// verifyIntervalMs and whenever a pass leaves the kernel in doubt, drain checks run when the
// proxier asks for them. Passes never overlap, and every pass has a deadline (kubernetes#71071).
// With a check task, the periodic verification first runs as a check beside the passes (it reads
// and compares, writes nothing of IPVS): under endpoint churn a 10,000-service verification held
// every change behind it for seconds. Only drift it finds, or its failure, brings a full
// verification pass.
// A pass past its deadline is reported at once, but the next pass waits until it has settled:
// JavaScript cannot stop a running pass, and two passes writing the kernel and the applied table
// at once would corrupt both. Every kernel wait below has its own deadline, so it does settle.
// A pass that left writes unapplied (SyncResult.pending) is retried as a sync, backing off.
import type { Clock, SyncResult } from './types.js';

export type PassKind = 'sync' | 'verify' | 'drain' | 'check';

export interface RunnerTasks {
  /** Incremental sync of what changed since the last pass. */
  sync(): Promise<SyncResult>;
  /** Full read of the kernel and repair (it also applies every pending change). */
  verify(): Promise<SyncResult>;
  drainCheck(): Promise<SyncResult>;
  /**
   * The periodic verification's read and compare, run beside syncs (never beside a verify or
   * another check). A result with `drift` or `needsVerification` brings a verify pass.
   */
  check?(): Promise<SyncResult>;
  /** Clock time of the next wanted drain check, or undefined. */
  nextDrainCheckAt(): number | undefined;
}

export interface RunnerOptions {
  clock: Clock;
  /** Minimum time between syncs (--min-sync-period); 0 syncs at once. */
  minIntervalMs: number;
  /** Time between verifications (--sync-period). */
  verifyIntervalMs: number;
  /** Syncs allowed back to back before minIntervalMs applies. Default 2. */
  burst?: number;
  /**
   * A pass running longer than this is reported (onError with PassDeadlineError); the next pass
   * still waits for it to settle. Default max(60 s, 2 x verifyIntervalMs).
   */
  deadlineMs?: number;
  onResult?(kind: PassKind, result: SyncResult): void;
  onError?(kind: PassKind, error: Error): void;
}

export class PassDeadlineError extends Error {
  constructor(
    readonly kind: PassKind,
    readonly deadlineMs: number,
  ) {
    super(`${kind} pass did not finish within ${deadlineMs} ms; the next pass waits for it to end, then a verification follows`);
    this.name = 'PassDeadlineError';
  }
}

export class SyncRunner {
  private pendingSync = false;
  private pendingVerify = false;
  /** The periodic verification's time came (a full-comparison sync meanwhile makes it moot). */
  private verifyDue = false;
  private pendingDrain = false;
  private running: Promise<void> | undefined;
  /** The background check in flight. */
  private checking: Promise<void> | undefined;
  private stopped = true;
  private tokens: number;
  private lastRefill: number;
  private wakeTimer: unknown;
  private verifyTimer: unknown;
  private drainTimer: unknown;
  private retryTimer: unknown;
  private failures = 0;
  /** Passes (not checks) running now: never more than one. */
  private active = 0;
  /** The most passes that ever ran at once (1 unless the no-overlap promise is broken). */
  maxActive = 0;
  private idleWaiters: (() => void)[] = [];
  /** Passes run so far, by kind (for tests and metrics). */
  readonly counts: Record<PassKind, number> = { sync: 0, verify: 0, drain: 0, check: 0 };

  constructor(
    private readonly tasks: RunnerTasks,
    private readonly opts: RunnerOptions,
  ) {
    this.tokens = this.burst;
    this.lastRefill = opts.clock.now();
  }

  private get burst(): number {
    return Math.max(1, this.opts.burst ?? 2);
  }

  /** Begin periodic verification; the first one runs after verifyIntervalMs. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.armVerify(this.opts.verifyIntervalMs);
    this.schedule();
  }

  /** Something changed: sync soon (coalesced with everything else that arrives meanwhile). */
  request(): void {
    this.pendingSync = true;
    this.schedule();
  }

  /** Read the kernel and repair as soon as the running pass ends. */
  requestVerify(): void {
    this.pendingVerify = true;
    this.schedule();
  }

  /** Stop scheduling; resolves once the running pass (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.wakeTimer, this.verifyTimer, this.drainTimer, this.retryTimer]) if (t !== undefined) this.opts.clock.clearTimeout(t);
    this.wakeTimer = this.verifyTimer = this.drainTimer = this.retryTimer = undefined;
    await this.running;
    await this.checking;
    this.releaseIdle();
  }

  /** No pass runs and none is pending (a background check may be in flight). */
  quiet(): boolean {
    return this.running === undefined && !this.pendingSync && !this.pendingVerify;
  }

  /** Resolves when nothing runs and nothing is pending. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return this.running === undefined && this.checking === undefined && !this.pendingSync && !this.pendingVerify && !this.verifyDue && !this.pendingDrain;
  }

  private releaseIdle(): void {
    if (!this.isIdle() && !this.stopped) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private refill(now: number): void {
    const min = this.opts.minIntervalMs;
    this.tokens = min <= 0 ? this.burst : Math.min(this.burst, this.tokens + (now - this.lastRefill) / min);
    this.lastRefill = now;
  }

  private schedule(): void {
    if (this.stopped || this.running) return;
    // A check starts only between passes, so that what it reads is compared with tables no
    // pass was half-way through changing; passes that start after it are tracked by the proxier.
    if (this.verifyDue && this.tasks.check && !this.pendingVerify) {
      if (this.checking === undefined) this.startCheck(this.tasks.check.bind(this.tasks));
      this.verifyDue = false;
    }
    if (this.wakeTimer !== undefined) {
      this.opts.clock.clearTimeout(this.wakeTimer);
      this.wakeTimer = undefined;
    }
    const now = this.opts.clock.now();
    this.refill(now);
    let at = Number.POSITIVE_INFINITY;
    if (this.pendingVerify || this.verifyDue || this.pendingDrain) at = now;
    if (this.pendingSync) at = Math.min(at, this.tokens >= 1 ? now : now + (1 - this.tokens) * this.opts.minIntervalMs);
    if (at <= now) {
      this.running = this.runNext().finally(() => {
        this.running = undefined;
        this.schedule();
        this.releaseIdle();
      });
    } else if (Number.isFinite(at)) {
      this.wakeTimer = this.opts.clock.setTimeout(() => {
        this.wakeTimer = undefined;
        this.schedule();
      }, at - now);
    } else {
      this.releaseIdle();
    }
  }

  private async runNext(): Promise<void> {
    let kind: PassKind;
    if (this.pendingVerify || this.verifyDue) {
      kind = 'verify';
      // A verification applies the whole desired state: pending changes are part of it.
      this.pendingVerify = this.verifyDue = this.pendingSync = false;
    } else if (this.pendingSync) {
      kind = 'sync';
      this.pendingSync = false;
      this.tokens -= 1;
    } else {
      kind = 'drain';
      this.pendingDrain = false;
    }
    this.counts[kind]++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const task = kind === 'verify' ? this.tasks.verify() : kind === 'sync' ? this.tasks.sync() : this.tasks.drainCheck();
    try {
      const result = await this.withDeadline(kind, task);
      this.active--;
      this.took(kind, result);
    } catch (err) {
      this.failures++;
      this.opts.onError?.(kind, err instanceof Error ? err : new Error(String(err)));
      if (err instanceof PassDeadlineError) {
        // Reported; now wait for it to end before any other pass starts (see the header).
        const late = await task.then(
          (r) => r,
          () => undefined,
        );
        if (late !== undefined) this.opts.onResult?.(kind, late);
      }
      this.active--;
      // In doubt: a verify pass, backing off while the failures go on (1 s, 2 s, ... up to the
      // period). Not a background check: it compares the kernel with what passes applied, and a
      // pass that threw (a claim that could not be written) applied nothing, so its change
      // would never be written.
      this.armVerify(this.backoffMs(), true);
    }
    this.armDrain();
  }

  /** A pass ended with a result. */
  private took(kind: PassKind, result: SyncResult): void {
    this.opts.onResult?.(kind, result);
    if (result.needsVerification) this.pendingVerify = true;
    // The period counts from the last full comparison: a first sync that took minutes on a
    // large cluster is not followed at once by a verification of what it just wrote.
    if (kind === 'verify' || result.fullCompare === true) {
      this.verifyDue = false;
      this.armVerify(this.opts.verifyIntervalMs);
    }
    if ((result.pending ?? 0) > 0) {
      // Writes failed: the proxier retries them on the next sync; make sure one comes.
      this.failures++;
      this.armRetry(this.backoffMs());
    } else {
      this.failures = 0;
    }
  }

  private backoffMs(): number {
    return Math.min(this.opts.verifyIntervalMs, 1000 * 2 ** Math.min(Math.max(0, this.failures - 1), 10));
  }

  private armRetry(ms: number): void {
    if (this.stopped) return;
    if (this.retryTimer !== undefined) this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.request();
    }, ms);
  }

  private startCheck(check: () => Promise<SyncResult>): void {
    this.counts.check++;
    const task = check();
    this.checking = this.withDeadline('check', task)
      .then(
        (result) => {
          this.opts.onResult?.('check', result);
          if (result.drift !== undefined || result.needsVerification) this.pendingVerify = true;
          else {
            this.failures = 0;
            this.armVerify(this.opts.verifyIntervalMs);
          }
        },
        async (err: unknown) => {
          this.opts.onError?.('check', err instanceof Error ? err : new Error(String(err)));
          // The read failed: in doubt, the full verification decides. A check past its deadline
          // is waited for like a pass, so that two checks never read at once.
          if (err instanceof PassDeadlineError) await task.catch(() => undefined);
          this.pendingVerify = true;
        },
      )
      .finally(() => {
        this.checking = undefined;
        this.schedule();
        this.releaseIdle();
      });
  }

  private withDeadline(kind: PassKind, task: Promise<SyncResult>): Promise<SyncResult> {
    const deadline = this.opts.deadlineMs ?? Math.max(60_000, 2 * this.opts.verifyIntervalMs);
    return new Promise((resolve, reject) => {
      const timer = this.opts.clock.setTimeout(() => reject(new PassDeadlineError(kind, deadline)), deadline);
      task.then(
        (r) => {
          this.opts.clock.clearTimeout(timer);
          resolve(r);
        },
        (e: unknown) => {
          this.opts.clock.clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** The next verification in `ms`: a background check where there is one, unless `pass`. */
  private armVerify(ms: number, pass = false): void {
    if (this.stopped) return;
    if (this.verifyTimer !== undefined) this.opts.clock.clearTimeout(this.verifyTimer);
    this.verifyTimer = this.opts.clock.setTimeout(() => {
      this.verifyTimer = undefined;
      if (pass) this.pendingVerify = true;
      else this.verifyDue = true;
      this.schedule();
    }, ms);
  }

  private armDrain(): void {
    if (this.stopped) return;
    if (this.drainTimer !== undefined) this.opts.clock.clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    const at = this.tasks.nextDrainCheckAt();
    if (at === undefined) return;
    this.drainTimer = this.opts.clock.setTimeout(() => {
      this.drainTimer = undefined;
      this.pendingDrain = true;
      this.schedule();
    }, at - this.opts.clock.now());
  }
}
