// List-then-watch of one resource, closing the gaps of client-node 1.4.0's informer: selectors
// on list and watch, complete paged lists or nothing, re-watch from the last resourceVersion,
// relist on 410 with deletes for what vanished, backoff with jitter after other errors, watch
// bookmarks, and an inactivity watchdog for half-open connections. Built on client-node's Watch.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';
import { Backoff } from '../util/backoff.js';
import { IncompleteListError, WatchFailedError, statusCodeOf } from './errors.js';
import { messageOf } from '../util/errors.js';

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continueToken?: string;
}

export interface ListRequest {
  labelSelector?: string;
  fieldSelector?: string;
  limit: number;
  continueToken?: string;
  signal: AbortSignal;
}

export interface ReflectorSpec<T extends KubernetesObject> {
  /** For messages: 'services', 'endpointslices', 'nodes'. */
  resource: string;
  /** Collection path for the watch, e.g. /api/v1/services. */
  watchPath: string;
  labelSelector?: string;
  fieldSelector?: string;
  listPage(req: ListRequest): Promise<ListPage<T>>;
  /** Turns a raw watch object into the same typed shape the list returns. */
  fromWatch(raw: unknown): T;
}

export interface ReflectorTimings {
  pageSize: number;
  listTimeoutMs: number;
  /** Asked of the server so watches end and renew regularly; a fresh random value per watch. */
  watchTimeoutSeconds: () => number;
  /** No event or bookmark for this long: the watch is presumed half-open and replaced. */
  inactivityMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /**
   * A relist that comes back empty while objects are known is not believed at once (a wiped or
   * misrouted API server must not empty the node): the objects are kept and the list is taken
   * again after this long; only a second empty list deletes them. Watch deletes apply at once.
   */
  emptyListConfirmMs: number;
  random?: () => number;
}

export type ReflectorChange<T> = { type: 'upsert'; object: T } | { type: 'delete'; object: T };

export interface ReflectorListener<T> {
  onChanges(changes: ReflectorChange<T>[]): void;
  onSynced(): void;
  onWarning(message: string, detail: Record<string, unknown>): void;
  /** A page of a list arrived: `items` received so far in this list (a list is passed on whole, at its end). */
  onListPage?(items: number): void;
}

/** A watch that ended on its own within this time without a single line counts as a failure. */
const MIN_HEALTHY_WATCH_MS = 1000;

export function objectKey(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

interface WatchEventLine {
  type?: unknown;
  object?: unknown;
}

export class Reflector<T extends KubernetesObject> {
  private readonly store = new Map<string, T>();
  private rv = '';
  private listedOnce = false;
  /** An empty relist was seen while objects were known; the next list decides. */
  private confirmingEmpty = false;
  private running = false;
  /** Bumped whenever the current list or watch is abandoned; late callbacks of older ones are ignored. */
  private generation = 0;
  private readonly backoff: Backoff;
  private readonly watcher: Watch;
  private listAbort?: AbortController;
  private watchAbort?: AbortController;
  private retryTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;

  constructor(
    kc: KubeConfig,
    private readonly spec: ReflectorSpec<T>,
    private readonly timings: ReflectorTimings,
    private readonly listener: ReflectorListener<T>,
  ) {
    this.backoff = new Backoff({ initialMs: timings.backoffInitialMs, maxMs: timings.backoffMaxMs, random: timings.random });
    this.watcher = new Watch(kc);
  }

  resourceVersion(): string {
    return this.rv;
  }
  hasSynced(): boolean {
    return this.listedOnce;
  }
  size(): number {
    return this.store.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.cycle();
  }

  stop(): void {
    this.running = false;
    this.abandon();
  }

  /** Drops the current list or watch (if any) so its late callbacks are ignored. */
  private abandon(): number {
    this.generation++;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    this.listAbort?.abort();
    this.watchAbort?.abort();
    this.listAbort = undefined;
    this.watchAbort = undefined;
    return this.generation;
  }

  private cycle(): void {
    if (!this.running) return;
    const gen = this.abandon();
    void this.runOnce(gen);
  }

  private retryLater(gen: number, err: unknown): void {
    if (gen !== this.generation || !this.running) return;
    const delayMs = this.backoff.next();
    this.listener.onWarning(`${this.spec.resource}: ${messageOf(err)}; retrying in ${delayMs} ms`, {
      resource: this.spec.resource,
      delayMs,
      attempt: this.backoff.attempts(),
      statusCode: statusCodeOf(err),
    });
    const next = this.abandon();
    this.retryTimer = setTimeout(() => {
      if (next === this.generation) this.cycle();
    }, delayMs);
  }

  private async runOnce(gen: number): Promise<void> {
    if (this.rv === '') {
      try {
        const listed = await this.listAll(gen);
        if (gen !== this.generation) return;
        if (listed.items.length === 0 && this.store.size > 0 && !this.confirmingEmpty) {
          this.confirmEmptyLater();
          return;
        }
        this.confirmingEmpty = false;
        this.replaceAll(listed.items, listed.resourceVersion);
        this.backoff.reset();
      } catch (err) {
        this.retryLater(gen, err);
        return;
      }
    }
    this.startWatch(gen);
  }

  private confirmEmptyLater(): void {
    this.confirmingEmpty = true;
    const delayMs = this.timings.emptyListConfirmMs;
    this.listener.onWarning(
      `${this.spec.resource}: the list came back empty while ${this.store.size} are known; keeping them and listing again in ${delayMs} ms to confirm`,
      { resource: this.spec.resource, known: this.store.size, delayMs },
    );
    const next = this.abandon();
    this.retryTimer = setTimeout(() => {
      if (next === this.generation) this.cycle();
    }, delayMs);
  }

  private async listAll(gen: number): Promise<ListPage<T>> {
    const items: T[] = [];
    let resourceVersion = '';
    let continueToken: string | undefined;
    let first = true;
    do {
      const abort = new AbortController();
      this.listAbort = abort;
      const timer = setTimeout(() => abort.abort(), this.timings.listTimeoutMs);
      let page: ListPage<T>;
      try {
        page = await this.spec.listPage({
          labelSelector: this.spec.labelSelector,
          fieldSelector: this.spec.fieldSelector,
          limit: this.timings.pageSize,
          continueToken,
          signal: abort.signal,
        });
      } catch (err) {
        if (first) throw err;
        const why = messageOf(err);
        throw new IncompleteListError(this.spec.resource, `the page after ${items.length} items failed: ${why}`, err);
      } finally {
        clearTimeout(timer);
      }
      if (gen !== this.generation) throw new IncompleteListError(this.spec.resource, 'abandoned');
      if (first) resourceVersion = page.resourceVersion;
      first = false;
      items.push(...page.items);
      continueToken = page.continueToken || undefined;
      this.listener.onListPage?.(items.length);
    } while (continueToken);
    if (!resourceVersion) throw new IncompleteListError(this.spec.resource, 'the list carried no resourceVersion');
    return { items, resourceVersion };
  }

  /** A full list replaces the store: deletes for what vanished, upserts for what is new or changed. */
  private replaceAll(items: T[], resourceVersion: string): void {
    const fresh = new Map<string, T>();
    for (const o of items) fresh.set(objectKey(o), o);
    const changes: ReflectorChange<T>[] = [];
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) changes.push({ type: 'delete', object: old });
    }
    for (const [key, o] of fresh) {
      const old = this.store.get(key);
      if (!old || old.metadata?.resourceVersion !== o.metadata?.resourceVersion || !o.metadata?.resourceVersion) {
        changes.push({ type: 'upsert', object: o });
      }
    }
    this.store.clear();
    for (const [key, o] of fresh) this.store.set(key, o);
    this.rv = resourceVersion;
    if (changes.length > 0) this.listener.onChanges(changes);
    if (!this.listedOnce) {
      this.listedOnce = true;
      this.listener.onSynced();
    }
  }

  private armWatchdog(gen: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (gen !== this.generation || !this.running) return;
      this.listener.onWarning(`${this.spec.resource}: no watch event or bookmark for ${this.timings.inactivityMs} ms; reconnecting`, {
        resource: this.spec.resource,
        inactivityMs: this.timings.inactivityMs,
        resourceVersion: this.rv,
      });
      this.cycle();
    }, this.timings.inactivityMs);
  }

  private startWatch(gen: number): void {
    const startedAt = Date.now();
    let lines = 0;
    let serverError: WatchFailedError | undefined;
    let gone = false;
    this.armWatchdog(gen);
    const onLine = (type: string, raw: unknown, line: WatchEventLine): void => {
      if (gen !== this.generation) return;
      lines++;
      this.armWatchdog(gen);
      this.backoff.reset();
      if (type === 'ERROR') {
        const code = statusCodeOf(raw);
        if (code === 410) gone = true;
        else {
          const msg =
            typeof raw === 'object' && raw !== null && typeof (raw as { message?: unknown }).message === 'string'
              ? (raw as { message: string }).message
              : JSON.stringify(line);
          serverError = new WatchFailedError(this.spec.resource, code, msg);
        }
        return;
      }
      this.applyWatchEvent(type, raw);
    };
    const onDone = (err: unknown): void => {
      if (gen !== this.generation || !this.running) return;
      if (gone || statusCodeOf(err) === 410) {
        // Too old: relist at once; the relist turns what vanished meanwhile into deletes.
        this.rv = '';
        this.listener.onWarning(`${this.spec.resource}: resourceVersion too old (410 Gone); relisting`, { resource: this.spec.resource });
        this.cycle();
        return;
      }
      if (err || serverError) {
        this.retryLater(gen, err ?? serverError);
        return;
      }
      if (lines === 0 && Date.now() - startedAt < MIN_HEALTHY_WATCH_MS) {
        this.retryLater(gen, new WatchFailedError(this.spec.resource, undefined, 'closed by the server at once'));
        return;
      }
      this.cycle();
    };
    const params: Record<string, string | number | boolean> = {
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds: this.timings.watchTimeoutSeconds(),
    };
    if (this.spec.labelSelector) params.labelSelector = this.spec.labelSelector;
    if (this.spec.fieldSelector) params.fieldSelector = this.spec.fieldSelector;
    this.watcher.watch(this.spec.watchPath, params, onLine, onDone).then(
      (controller) => {
        // A watch abandoned while its request was in flight is aborted as soon as it is known.
        if (gen !== this.generation) controller.abort();
        else this.watchAbort = controller;
      },
      (err: unknown) => onDone(err),
    );
  }

  private applyWatchEvent(type: string, raw: unknown): void {
    let object: T;
    try {
      object = this.spec.fromWatch(raw);
    } catch (err) {
      this.listener.onWarning(`${this.spec.resource}: cannot decode watch ${type} event: ${String(err)}`, { resource: this.spec.resource });
      return;
    }
    const rv = object.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    const key = objectKey(object);
    if (type === 'ADDED' || type === 'MODIFIED') {
      this.store.set(key, object);
      if (rv) this.rv = rv;
      this.listener.onChanges([{ type: 'upsert', object }]);
    } else if (type === 'DELETED') {
      const known = this.store.delete(key);
      if (rv) this.rv = rv;
      if (known) this.listener.onChanges([{ type: 'delete', object }]);
    }
  }
}
