// Callers waiting for a source's first complete read, each with its own deadline.

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class SyncWaiters {
  private readonly waiting = new Set<Waiter>();

  /** Resolves at resolveAll(), rejects at rejectAll(), or with `timeoutError()` after `timeoutMs`. */
  wait(timeoutMs: number, timeoutError: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          reject(e);
        },
      };
      const timer = setTimeout(() => waiter.reject(timeoutError()), timeoutMs);
      this.waiting.add(waiter);
    });
  }

  resolveAll(): void {
    for (const w of [...this.waiting]) w.resolve();
  }

  rejectAll(err: Error): void {
    for (const w of [...this.waiting]) w.reject(err);
  }
}
