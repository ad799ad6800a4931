// Long work on the main thread in slices of time: after about `sliceMs` of work the event loop
// gets a turn, so syncs and timers run meanwhile. A budget of time rather than of items: the same
// count of items costs ten times more under emulation. Used by the sliced dump decode and by the
// background check's comparison.

/** Resolves on the event loop's next turn (after pending I/O callbacks). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class TimeSlices {
  private sliceStart = performance.now();

  constructor(private readonly sliceMs: number) {}

  /** True when the current slice's time is used up (a cheap clock read; call between small steps). */
  due(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Gives the event loop a turn and starts a new slice. */
  async turn(): Promise<void> {
    await nextTurn();
    this.sliceStart = performance.now();
  }
}
