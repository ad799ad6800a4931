// Exponential backoff with equal jitter, capped: the delay before retry n (from 0) is uniform in
// [c/2, c] where c = min(max, initial * 2^n). Half the delay is kept so that retries still slow
// down; the other half is random so that many agents restarting together spread their retries.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/** The delay before retry `attempt` (0 for the first). Pure but for `random`. */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * (opts.random ?? Math.random)());
}

/** A retry loop's backoff: each next() doubles the ceiling until the cap; reset() after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions) {}

  next(): number {
    return backoffDelay(this.attempt++, this.opts);
  }

  reset(): void {
    this.attempt = 0;
  }

  attempts(): number {
    return this.attempt;
  }
}
