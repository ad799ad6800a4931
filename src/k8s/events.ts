// Kubernetes Events for "cannot honour this Service" warnings. Repeats of the same warning on
// the same object are folded into one Event whose count rises (as client-go's correlator does),
// and each object has a token bucket so a flapping Service cannot flood the API server.
import { CoreV1Api, setHeaderMiddleware, type KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { EventPostError, statusCodeOf } from './errors.js';

export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  apiVersion?: string;
}

export interface EventSink {
  /** Records a Warning event about ref; never throws, never blocks the caller. */
  warn(ref: ObjectRef, reason: string, message: string): void;
  /** Resolves when every event recorded so far has been posted or dropped. */
  flush(): Promise<void>;
}

/** For sources without an API server (manifests): events go nowhere, by design. */
export class NullEventRecorder implements EventSink {
  warn(_ref: ObjectRef, _reason: string, _message: string): void {
    return;
  }

  async flush(): Promise<void> {
    return;
  }
}

export interface EventRecorderOptions {
  /** Reported as source.component and reportingController. */
  component: string;
  /** This node's name: source.host and reportingInstance. */
  host: string;
  /** Events per object allowed at once (default 25, like client-go). */
  burst?: number;
  /** One more event per object allowed after this long (default 5 min, like client-go). */
  refillIntervalMs?: number;
  /** Repeats within this window patch the existing Event instead of creating one (default 10 min). */
  aggregateWindowMs?: number;
  /** Most distinct (object, reason, message) entries remembered (default 4096). */
  maxEntries?: number;
  onError?: (err: EventPostError) => void;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}
interface Posted {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

export class EventRecorder implements EventSink {
  private readonly api: CoreV1Api;
  private readonly buckets = new Map<string, Bucket>();
  private readonly posted = new Map<string, Posted>();
  private chain: Promise<void> = Promise.resolve();
  private droppedCount = 0;
  private readonly now: () => number;

  constructor(
    kc: KubeConfig,
    private readonly opts: EventRecorderOptions,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.now = opts.now ?? Date.now;
  }

  /** Events refused by the rate limit so far. */
  dropped(): number {
    return this.droppedCount;
  }

  warn(ref: ObjectRef, reason: string, message: string): void {
    if (!this.take(`${ref.kind}/${ref.namespace}/${ref.name}`)) {
      this.droppedCount++;
      return;
    }
    this.chain = this.chain.then(() => this.post(ref, reason, message));
  }

  flush(): Promise<void> {
    return this.chain;
  }

  private take(objectKey: string): boolean {
    const burst = this.opts.burst ?? 25;
    const refill = this.opts.refillIntervalMs ?? 300_000;
    const now = this.now();
    const b = this.buckets.get(objectKey) ?? { tokens: burst, updatedAt: now };
    const earned = Math.floor((now - b.updatedAt) / refill);
    if (earned > 0) {
      b.tokens = Math.min(burst, b.tokens + earned);
      b.updatedAt += earned * refill;
    }
    if (b.tokens >= burst) b.updatedAt = now;
    this.buckets.delete(objectKey);
    this.buckets.set(objectKey, b);
    this.trim(this.buckets);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  private trim<V>(m: Map<string, V>): void {
    const max = this.opts.maxEntries ?? 4096;
    while (m.size > max) m.delete(m.keys().next().value as string);
  }

  private async post(ref: ObjectRef, reason: string, message: string): Promise<void> {
    const key = `${ref.kind}/${ref.namespace}/${ref.name}/${reason}/${message}`;
    const now = this.now();
    const window = this.opts.aggregateWindowMs ?? 600_000;
    const prior = this.posted.get(key);
    try {
      if (prior && now - prior.lastSeen < window) {
        const patched = await this.patch(prior, now);
        if (patched) return;
      }
      await this.create(key, ref, reason, message, now);
    } catch (err) {
      this.opts.onError?.(new EventPostError(ref.namespace, reason, statusCodeOf(err), err));
    }
  }

  /** Bumps the count of an Event posted before; false when it has expired on the server. */
  private async patch(prior: Posted, now: number): Promise<boolean> {
    const count = prior.count + 1;
    const options = setHeaderMiddleware('Content-Type', 'application/merge-patch+json');
    try {
      await this.api.patchNamespacedEvent(
        { name: prior.name, namespace: prior.namespace, body: { count, lastTimestamp: new Date(now).toISOString() } },
        { middleware: [options], middlewareMergeStrategy: 'append' },
      );
    } catch (err) {
      if (statusCodeOf(err) === 404) return false;
      throw err;
    }
    prior.count = count;
    prior.lastSeen = now;
    return true;
  }

  private async create(key: string, ref: ObjectRef, reason: string, message: string, now: number): Promise<void> {
    const at = new Date(now);
    const name = `${ref.name}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
    const body: CoreV1Event = {
      metadata: { name, namespace: ref.namespace },
      involvedObject: { kind: ref.kind, namespace: ref.namespace, name: ref.name, uid: ref.uid, apiVersion: ref.apiVersion ?? 'v1' },
      reason,
      message,
      type: 'Warning',
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: this.opts.component, host: this.opts.host },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host,
    };
    await this.api.createNamespacedEvent({ namespace: ref.namespace, body });
    this.posted.delete(key);
    this.posted.set(key, { name, namespace: ref.namespace, count: 1, lastSeen: now });
    this.trim(this.posted);
  }
}
