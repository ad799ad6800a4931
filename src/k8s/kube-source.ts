// ServiceSource over the Kubernetes API: Services and EndpointSlices selected as kube-proxy
// selects them (KEP-2447), and this node's Node. Lists go through client-node's generated API,
// watches through its Watch class; the Reflector supplies the lifecycle the informer lacks.
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  setHeaderMiddleware,
  type ConfigurationOptions,
  type KubernetesObject,
  type ObservableMiddleware,
  type V1EndpointSlice,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { KubeConfigError, SourceStoppedError, SyncTimeoutError } from './errors.js';
import { Reflector, type ListPage, type ListRequest, type ReflectorChange, type ReflectorTimings } from './reflector.js';
import { proxyLabelSelector } from './selectors.js';
import { projectEndpointSlice, projectService } from './project.js';
import type { ServiceSource, SourceEvent, SourceHandlers } from '../vocabulary/source.js';
import { messageOf } from '../util/errors.js';
import { SyncWaiters } from '../util/sync-waiters.js';

export interface KubeSourceOptions {
  /** Path of a kubeconfig file; when absent, the in-cluster service account is used. */
  kubeconfig?: string;
  nodeName: string;
  serviceProxyName?: string;
  /** Items per list page (default 500). */
  pageSize?: number;
  /** Deadline of one list page (default 60 s). */
  listTimeoutMs?: number;
  /** No watch event or bookmark for this long: reconnect (default 5 min; bookmarks are requested). */
  inactivityTimeoutMs?: number;
  /** Server-side watch timeout range in seconds (default 300..600, random per watch, as client-go). */
  watchTimeoutSeconds?: { min: number; max: number };
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** An empty relist while objects are known is believed only when a list this much later agrees (default 30 s). */
  emptyListConfirmMs?: number;
  random?: () => number;
}

/** Loads the client configuration from a kubeconfig path, or in-cluster when no path is given. */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromCluster();
  } catch (err) {
    throw new KubeConfigError(kubeconfig ?? 'in-cluster service account', err);
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError(kubeconfig ?? 'in-cluster service account', new Error('no current cluster'));
  return kc;
}

/** Per-request options that bound a list call with an abort signal. */
function withSignal(signal: AbortSignal): ConfigurationOptions<ObservableMiddleware> {
  const accept = setHeaderMiddleware('Accept', 'application/json');
  const middleware: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(signal);
      return accept.pre(ctx);
    },
    post: (ctx) => accept.post(ctx),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

interface TypedList<T> {
  items: T[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

function page<T>(list: TypedList<T>): ListPage<T> {
  return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '', continueToken: list.metadata?._continue };
}

function decoder<T extends KubernetesObject>(type: string): (raw: unknown) => T {
  return (raw) => ObjectSerializer.deserialize(raw, type, '') as T;
}

const decodeService = decoder<V1Service>('V1Service');
const decodeSlice = decoder<V1EndpointSlice>('V1EndpointSlice');

/** A page with its items reduced to what the agent reads (src/k8s/project.ts): the reflectors keep them. */
function projected<T>(p: ListPage<T>, project: (o: T) => T): ListPage<T> {
  return { ...p, items: p.items.map(project) };
}

function ref(o: KubernetesObject): { namespace: string; name: string } {
  return { namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' };
}

export class KubeSource implements ServiceSource {
  private readonly kc: KubeConfig;
  private handlers?: SourceHandlers;
  /** Items received so far by each paged list still running (for progress lines). */
  private readonly listedSoFar = new Map<string, number>();
  private readonly services: Reflector<V1Service>;
  private readonly slices: Reflector<V1EndpointSlice>;
  private readonly node: Reflector<V1Node>;
  private readonly waiters = new SyncWaiters();
  private stopped = false;

  constructor(
    private readonly opts: KubeSourceOptions,
    kubeConfig?: KubeConfig,
  ) {
    this.kc = kubeConfig ?? loadKubeConfig(opts.kubeconfig);
    const core = this.kc.makeApiClient(CoreV1Api);
    const discovery = this.kc.makeApiClient(DiscoveryV1Api);
    const random = opts.random ?? Math.random;
    const range = opts.watchTimeoutSeconds ?? { min: 300, max: 600 };
    const timings: ReflectorTimings = {
      pageSize: opts.pageSize ?? 500,
      listTimeoutMs: opts.listTimeoutMs ?? 60_000,
      watchTimeoutSeconds: () => Math.round(range.min + (range.max - range.min) * random()),
      inactivityMs: opts.inactivityTimeoutMs ?? 300_000,
      backoffInitialMs: opts.backoffInitialMs ?? 800,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      emptyListConfirmMs: opts.emptyListConfirmMs ?? 30_000,
      random,
    };
    const selector = proxyLabelSelector(opts.serviceProxyName);
    const listArgs = (r: ListRequest) => ({
      labelSelector: r.labelSelector,
      fieldSelector: r.fieldSelector,
      limit: r.limit,
      _continue: r.continueToken,
    });
    this.services = new Reflector<V1Service>(
      this.kc,
      {
        resource: 'services',
        watchPath: '/api/v1/services',
        labelSelector: selector,
        listPage: async (r) => projected(page(await core.listServiceForAllNamespaces(listArgs(r), withSignal(r.signal))), projectService),
        fromWatch: (raw) => projectService(decodeService(raw)),
      },
      timings,
      this.listener('Service', (c) => this.serviceEvent(c)),
    );
    // kube-proxy selects slices with the same selector: the slice controller copies the
    // service-proxy-name and headless labels from the Service onto its slices.
    this.slices = new Reflector<V1EndpointSlice>(
      this.kc,
      {
        resource: 'endpointslices',
        watchPath: '/apis/discovery.k8s.io/v1/endpointslices',
        labelSelector: selector,
        listPage: async (r) => projected(page(await discovery.listEndpointSliceForAllNamespaces(listArgs(r), withSignal(r.signal))), projectEndpointSlice),
        fromWatch: (raw) => projectEndpointSlice(decodeSlice(raw)),
      },
      timings,
      this.listener('EndpointSlice', (c) => this.sliceEvent(c)),
    );
    this.node = new Reflector<V1Node>(
      this.kc,
      {
        resource: 'nodes',
        watchPath: '/api/v1/nodes',
        fieldSelector: `metadata.name=${opts.nodeName}`,
        listPage: async (r) => page(await core.listNode(listArgs(r), withSignal(r.signal))),
        fromWatch: decoder<V1Node>('V1Node'),
      },
      timings,
      this.listener('Node', (c) => this.nodeEvent(c)),
    );
  }

  start(handlers: SourceHandlers): void {
    if (this.handlers) return;
    this.handlers = handlers;
    this.services.start();
    this.slices.start();
    this.node.start();
  }

  synced(timeoutMs: number): Promise<void> {
    if (this.isSynced()) return Promise.resolve();
    if (this.stopped) return Promise.reject(new SourceStoppedError());
    return this.waiters.wait(timeoutMs, () => new SyncTimeoutError(timeoutMs, this.pending()));
  }

  resourceVersions(): { services: string; endpointSlices: string } {
    return { services: this.services.resourceVersion(), endpointSlices: this.slices.resourceVersion() };
  }

  /** The Node's resourceVersion ('' until this node has been listed). */
  nodeResourceVersion(): string {
    return this.node.resourceVersion();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.services.stop();
    this.slices.stop();
    this.node.stop();
    this.waiters.rejectAll(new SourceStoppedError());
  }

  private isSynced(): boolean {
    return this.services.hasSynced() && this.slices.hasSynced();
  }

  private pending(): string[] {
    const out: string[] = [];
    if (!this.services.hasSynced()) out.push('services');
    if (!this.slices.hasSynced()) out.push('endpointslices');
    return out;
  }

  private listener<T>(kind: string, toEvent: (c: ReflectorChange<T>) => SourceEvent) {
    return {
      onChanges: (changes: ReflectorChange<T>[]) => this.emit(changes.map(toEvent)),
      onSynced: () => {
        if (!this.isSynced()) return;
        this.waiters.resolveAll();
      },
      onWarning: (message: string, detail: Record<string, unknown>) => this.handlers?.onWarning(message, { kind, ...detail }),
      onListPage: (items: number) => {
        this.listedSoFar.set(kind, items);
        const counts = [...this.listedSoFar].map(([k, n]) => `${n} ${k}`).join(', ');
        this.handlers?.onProgress?.(`listing: ${counts} received so far`);
      },
    };
  }

  private emit(events: SourceEvent[]): void {
    if (events.length === 0 || this.stopped || !this.handlers) return;
    try {
      this.handlers.onEvents(events);
    } catch (err) {
      // A failing consumer must not kill the watch that feeds it.
      this.handlers.onWarning(`event handler failed: ${messageOf(err)}`, { error: err });
    }
  }

  private serviceEvent(c: ReflectorChange<V1Service>): SourceEvent {
    return c.type === 'upsert' ? { kind: 'Service', type: 'upsert', object: c.object } : { kind: 'Service', type: 'delete', ...ref(c.object) };
  }

  private sliceEvent(c: ReflectorChange<V1EndpointSlice>): SourceEvent {
    return c.type === 'upsert' ? { kind: 'EndpointSlice', type: 'upsert', object: c.object } : { kind: 'EndpointSlice', type: 'delete', ...ref(c.object) };
  }

  private nodeEvent(c: ReflectorChange<V1Node>): SourceEvent {
    return c.type === 'upsert' ? { kind: 'Node', type: 'upsert', object: c.object } : { kind: 'Node', type: 'delete', name: c.object.metadata?.name ?? '' };
  }
}
