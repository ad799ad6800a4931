// Progress of the first sync, logged at a steady interval. On a large cluster the first list, the
// desired state and the cold programming take tens of seconds; without a line now and then an
// operator watching `kubectl logs` cannot tell a busy agent from a stuck one.
import type { Logger } from '../ops/logger.js';
import type { Clock } from '../proxier/types.js';

type ProgressClock = Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;

/** Node's own timers, for callers without an injected clock. */
const NODE_TIMERS: ProgressClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Default interval between progress lines while the first sync runs. */
export const PROGRESS_INTERVAL_MS = 5000;

export class FirstSyncProgress {
  private objectsRead = 0;
  private desired = '';
  private stage = 'waiting for the first list of Services and EndpointSlices';
  private timer: unknown;
  private startedAt = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
    private readonly clock: ProgressClock = NODE_TIMERS,
  ) {}

  /** Logs every interval until done(); the first line comes one interval in (a quick start logs none). */
  begin(now = this.clock.now()): void {
    if (this.timer !== undefined || this.intervalMs <= 0) return;
    this.startedAt = now;
    this.schedule();
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.log();
      if (this.timer !== undefined) this.schedule();
    }, this.intervalMs);
    // A real timer must not keep a process alive that is otherwise done.
    (this.timer as { unref?: () => void }).unref?.();
  }

  countRead(objects: number): void {
    this.objectsRead += objects;
  }

  /** The desired state's size once computed: kept in every later line. */
  computed(virtualServers: number, addresses: number): void {
    this.desired = `desired state computed: ${virtualServers} virtual servers, ${addresses} addresses; `;
  }

  /** What the first sync is doing now: a stage and, when known, its counts. */
  at(stage: string): void {
    this.stage = stage;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  done(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private log(): void {
    const seconds = ((this.clock.now() - this.startedAt) / 1000).toFixed(1);
    this.logger.info(`first sync in progress (${seconds} s): ${this.objectsRead} objects read; ${this.desired}${this.stage}`, {
      op: 'progress',
      objectsRead: this.objectsRead,
      stage: this.stage,
    });
  }
}
