// Keeps the state record in step with ownership at a cost that does not grow with the number of
// services per sync: entries are refreshed only for the keys a pass touched, the record is written
// at once when ownership changes (the crash-safety rule), and name-only changes (a new pod behind
// an endpoint) are written behind the pass, coalesced and at a bounded rate. The names serve
// status views only, and at 10,000 services the record is megabytes of JSON: rewriting it every
// second under endpoint churn cost the sync loop more than the kernel writes did, and under
// emulation one write took 0.2-2.5 s, holding every change queued behind the pass that waited for
// it. So a names-only write never holds a pass, and the next one waits at least ten times what
// the last write cost (capped by `namesDebounceMs`): prompt for the record of a small cluster,
// a few seconds apart for a huge one. A timer writes names a pass left waiting, so `status
// --names` catches up without another pass. All writes go through one queue, each built from the
// owned sets when its turn comes, so a later write never loses an earlier claim.
import type { DesiredState, DesiredVirtualServer } from '../model/types.js';
import { recordEntryText, recordText, type RecordedVirtualServer, type StateRecord } from './state-record.js';
import type { Clock, StateStore } from './types.js';

/** A names-only write waits this many times the last write's cost after it (see the header). */
const NAMES_COST_FACTOR = 10;

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** An owned set; with `changes` (a CountingSet) an unchanged set is recognised without a comparison. */
type OwnedSet = ReadonlySet<string> & { readonly changes?: number };

interface Seen {
  set: OwnedSet;
  changes: number;
}

/** True when `set` is the one seen last, with no change since. */
function unchangedSince(seen: Seen | undefined, set: OwnedSet): boolean {
  return seen !== undefined && seen.set === set && set.changes !== undefined && set.changes === seen.changes;
}

/** The set and its change count as they stand now (undefined for a set that does not count). */
function seenNow(set: OwnedSet): Seen | undefined {
  return set.changes === undefined ? undefined : { set, changes: set.changes };
}

/** The entry of an owned key that has no names (adopted, not desired). */
const EMPTY_ENTRY = JSON.stringify({ reals: {} } satisfies RecordedVirtualServer);

export class RecordKeeper {
  /**
   * Each owned key's entry as JSON text only: as objects, 100,000 real-server keys used as
   * property names gave V8 about as many distinct object shapes (some 40 MB at 10,000 services).
   */
  private readonly entryText = new Map<string, string>();
  /** The desired entry each record entry was made from: the same object needs no new look. */
  private readonly source = new Map<string, DesiredVirtualServer>();
  private savedVs = new Set<string>();
  private savedAddresses = new Set<string>();
  /** The owned sets as last found equal to the saved ones (content compared or written). */
  private seenVs: Seen | undefined;
  private seenAddresses: Seen | undefined;
  private namesDirty = false;
  private lastWrite = Number.NEGATIVE_INFINITY;
  /** What the last write cost (building the text and the store's save), by the clock. */
  private lastWriteCostMs = 0;
  /** A names-only write is queued and has not taken its snapshot: later names ride along. */
  private namesWaiting = false;
  /** The timer of a names-only write the rate bound put off, and the owned sets to write. */
  private namesTimer: unknown;
  private latest: { vs: OwnedSet; addresses: OwnedSet } | undefined;
  /** The write queue's tail: record writes run one at a time, in the order asked. */
  private writing: Promise<void> = Promise.resolve();
  /** A names-only write behind the pass failed: reported (and retried) by the next save. */
  private backgroundError: unknown;

  /**
   * Without a clock, names-only writes are spaced by `namesDebounceMs` and wait for the next save
   * (the tests of the queue use this); with one, they are spaced by their cost (at most
   * `namesDebounceMs`), a timer writes what a pass left waiting, and each record says when it was
   * written (the clock's wall time).
   */
  constructor(
    private readonly store: StateStore,
    private readonly namesDebounceMs = 10_000,
    private readonly clock?: Pick<Clock, 'now' | 'wall' | 'setTimeout' | 'clearTimeout'>,
  ) {}

  /** Start from a loaded record: what is on disk now. */
  reset(record: StateRecord | undefined): void {
    this.entryText.clear();
    this.source.clear();
    this.savedVs = new Set(Object.keys(record?.virtualServers ?? {}));
    this.savedAddresses = new Set(record?.addresses ?? []);
    this.seenVs = this.seenAddresses = undefined;
    for (const [k, e] of Object.entries(record?.virtualServers ?? {})) {
      this.entryText.set(k, JSON.stringify(e));
    }
    this.namesDirty = false;
    this.cancelNamesTimer();
  }

  /** The name entry of a key (owner, pods), from the desired state or the record. */
  entry(key: string): RecordedVirtualServer | undefined {
    const text = this.entryText.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as RecordedVirtualServer);
  }

  /**
   * Bring the record in line with the owned sets, refreshing names of `keys` (all when undefined),
   * and write it when ownership changed, or names changed and `force` or the debounce allows.
   * Resolves true when a record was written; a debounced names-only write is started and not
   * waited for (false), and its failure is thrown by the next save.
   */
  async save(
    ownedVs: OwnedSet,
    ownedAddresses: OwnedSet,
    desired: DesiredState | undefined,
    keys: Iterable<string> | undefined,
    now: number,
    force: boolean,
  ): Promise<boolean> {
    const structural =
      !(unchangedSince(this.seenVs, ownedVs) || sameSet(ownedVs, this.savedVs)) ||
      !(unchangedSince(this.seenAddresses, ownedAddresses) || sameSet(ownedAddresses, this.savedAddresses));
    if (!structural) {
      this.seenVs = seenNow(ownedVs);
      this.seenAddresses = seenNow(ownedAddresses);
    }
    if (structural) {
      for (const k of [...this.entryText.keys()]) if (!ownedVs.has(k)) this.forget(k);
      for (const k of ownedVs) if (!this.entryText.has(k)) this.refresh(k, desired);
    }
    for (const k of keys ?? ownedVs) if (ownedVs.has(k)) this.refresh(k, desired);
    // A failed names-only write left namesDirty set, so it is retried like any names change.
    const failed = this.backgroundError;
    this.backgroundError = undefined;
    // Names a queued write has not read yet go out with it: one write, however many passes.
    if (this.namesWaiting && !structural) this.namesDirty = false;
    const wrote = structural || (this.namesDirty && force);
    this.latest = { vs: ownedVs, addresses: ownedAddresses };
    if (wrote) {
      this.cancelNamesTimer();
      await this.enqueue(ownedVs, ownedAddresses, now);
    } else if (this.namesDirty) {
      const wait = this.lastWrite + this.namesGapMs() - now;
      if (wait <= 0) {
        this.cancelNamesTimer();
        this.enqueueNames(ownedVs, ownedAddresses, now);
      } else {
        this.scheduleNames(wait);
      }
    }
    if (failed !== undefined) throw failed;
    return wrote;
  }

  /**
   * Resolves once every record write asked for so far has ended (at shutdown, and for tests);
   * names a timer was holding back are written first, so the record on disk is complete.
   */
  async idle(): Promise<void> {
    if (this.namesTimer !== undefined) {
      this.cancelNamesTimer();
      if (this.namesDirty && this.latest !== undefined && this.clock !== undefined) {
        this.enqueueNames(this.latest.vs, this.latest.addresses, this.clock.now());
      }
    }
    await this.writing;
  }

  /** How long after the last write a names-only write may start. */
  private namesGapMs(): number {
    if (this.clock === undefined) return this.namesDebounceMs;
    return Math.min(this.namesDebounceMs, NAMES_COST_FACTOR * this.lastWriteCostMs);
  }

  /** A names-only write behind the pass: not waited for; its failure is thrown by the next save. */
  private enqueueNames(ownedVs: OwnedSet, ownedAddresses: OwnedSet, now: number): void {
    this.namesWaiting = true;
    this.enqueue(ownedVs, ownedAddresses, now).catch((err: unknown) => {
      this.backgroundError = err;
    });
  }

  /** One timer at most: when it fires, the names as they stand then are written. */
  private scheduleNames(waitMs: number): void {
    const clock = this.clock;
    if (clock === undefined || this.namesTimer !== undefined) return;
    this.namesTimer = clock.setTimeout(() => {
      this.namesTimer = undefined;
      if (this.namesDirty && this.latest !== undefined) this.enqueueNames(this.latest.vs, this.latest.addresses, clock.now());
    }, waitMs);
  }

  private cancelNamesTimer(): void {
    if (this.namesTimer === undefined) return;
    this.clock?.clearTimeout(this.namesTimer);
    this.namesTimer = undefined;
  }

  /**
   * Queue a write of the record as the owned sets stand when its turn comes; resolves when it is
   * on disk. Names are marked written at once, so a debounced write is not asked for twice.
   */
  private enqueue(ownedVs: OwnedSet, ownedAddresses: OwnedSet, now: number): Promise<void> {
    this.namesDirty = false;
    this.lastWrite = now;
    const run = this.writing.then(async () => {
      this.namesWaiting = false;
      const started = this.clock?.now();
      const vs = new Set(ownedVs);
      const addresses = new Set(ownedAddresses);
      const seen = { vs: seenNow(ownedVs), addresses: seenNow(ownedAddresses) };
      const entries: [string, string][] = [];
      for (const k of vs) entries.push([k, this.entryText.get(k) ?? EMPTY_ENTRY]);
      try {
        await this.store.save(recordText(entries, addresses, this.clock?.wall()));
      } catch (err) {
        this.namesDirty = true;
        throw err;
      } finally {
        if (started !== undefined) this.lastWriteCostMs = this.clock!.now() - started;
      }
      this.savedVs = vs;
      this.savedAddresses = addresses;
      this.seenVs = seen.vs;
      this.seenAddresses = seen.addresses;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  private refresh(key: string, desired: DesiredState | undefined): void {
    const want = desired?.virtualServers.get(key);
    if (want !== undefined && this.source.get(key) === want) return;
    if (want !== undefined) this.source.set(key, want);
    // Without a desired entry the old one stays as it is; a new key without one has no names.
    if (want === undefined && this.entryText.has(key)) return;
    const text = want === undefined ? EMPTY_ENTRY : recordEntryText(want);
    if (text === this.entryText.get(key)) return;
    this.entryText.set(key, text);
    this.namesDirty = true;
  }

  private forget(key: string): void {
    this.entryText.delete(key);
    this.source.delete(key);
  }
}
