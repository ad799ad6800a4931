// {previous, current} per namespaced name between two takes, as kube-proxy's change trackers
// keep them. An update that ends where it started (by fingerprint) is dropped.
import { textDigest } from './digest.js';

export interface Change<T> {
  previous?: T;
  current?: T;
}

interface Versioned<T> {
  object: T;
  /** Digest of the object's fingerprint text (only ever compared). */
  fingerprint: string;
}

export class ChangeTracker<T> {
  private readonly committed = new Map<string, Versioned<T>>();
  private readonly pending = new Map<string, { previous?: Versioned<T>; current?: Versioned<T> }>();

  private unrenderable = 0;

  constructor(private readonly fingerprint: (object: T) => string) {}

  /** Records an upsert; false when it changes nothing that matters. */
  upsert(id: string, object: T): boolean {
    let fingerprint: string;
    try {
      fingerprint = textDigest(this.fingerprint(object));
    } catch {
      // An object JSON cannot render (a cycle, a bigint): never equal to anything, so never dropped.
      fingerprint = `unrenderable#${++this.unrenderable}`;
    }
    return this.record(id, { object, fingerprint });
  }

  /** Records a delete; false when the object was unknown. */
  delete(id: string): boolean {
    return this.record(id, undefined);
  }

  /** The object as of the last take. */
  get(id: string): T | undefined {
    return this.committed.get(id)?.object;
  }

  /** The newest object, pending changes included. */
  latest(id: string): T | undefined {
    const p = this.pending.get(id);
    return p ? p.current?.object : this.committed.get(id)?.object;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The pending changes; they become the committed state. */
  take(): Map<string, Change<T>> {
    const out = new Map<string, Change<T>>();
    for (const [id, c] of this.pending) {
      if (c.current) this.committed.set(id, c.current);
      else this.committed.delete(id);
      out.set(id, { previous: c.previous?.object, current: c.current?.object });
    }
    this.pending.clear();
    return out;
  }

  private record(id: string, next: Versioned<T> | undefined): boolean {
    const entry = this.pending.get(id);
    const previous = entry ? entry.previous : this.committed.get(id);
    const latest = entry ? entry.current : previous;
    if (latest?.fingerprint === next?.fingerprint) {
      // Keep the newest object (resourceVersion and the like) without calling it a change.
      if (entry && next) entry.current = next;
      else if (!entry && next && previous) this.committed.set(id, next);
      return false;
    }
    if (previous?.fingerprint === next?.fingerprint) {
      this.pending.delete(id);
      if (next && previous) this.committed.set(id, next);
      return true;
    }
    this.pending.set(id, { previous, current: next });
    return true;
  }
}
