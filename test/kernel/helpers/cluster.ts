// Services and EndpointSlices for the agent end-to-end tests, and two ways to hand them to the
// agent: manifest files (--manifests) or the fixture API server (--kubeconfig). A test states the
// whole desired cluster at each step with set(); each driver turns that into its own changes.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FixtureApiServer, KubeObject, ResourceName } from '../../fixtures/apiserver/server.js';
import { POD_PORT, type Pod } from './topology.js';

export interface ServiceOptions {
  port?: number;
  annotations?: Record<string, string>;
  /** Merged over the ClusterIP spec (type, externalTrafficPolicy, healthCheckNodePort, ...). */
  spec?: Record<string, unknown>;
}

export function service(name: string, clusterIp: string, opts: ServiceOptions = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z', ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIp,
      clusterIPs: [clusterIp],
      ipFamilies: ['IPv4'],
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: opts.port ?? 80, targetPort: POD_PORT }],
      ...opts.spec,
    },
  };
}

export interface EndpointOptions {
  nodeName?: string;
  ready?: boolean;
  terminating?: boolean;
}

export interface SliceOptions {
  /** Endpoint node name for every pod (default node-a). */
  nodeName?: string;
  annotations?: Record<string, string>;
}

export function endpointSlice(serviceName: string, pods: readonly Pod[], opts: SliceOptions = {}): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${serviceName}-x7k2p`,
      namespace: 'default',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'kubernetes.io/service-name': serviceName, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: POD_PORT }],
    endpoints: pods.map((p) => ({
      addresses: [p.address],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: opts.nodeName ?? 'node-a',
      targetRef: { kind: 'Pod', namespace: 'default', name: p.name },
    })),
  };
}

/** The desired cluster, stated whole at each step. */
export interface ClusterDriver {
  readonly label: string;
  /** Flags that point `ipvs-proxy run` at this cluster. */
  readonly sourceArgs: readonly string[];
  set(objects: readonly KubeObject[]): Promise<void>;
}

/** --manifests DIR: one List file, replaced atomically at each step (the agent re-reads it). */
export class ManifestCluster implements ClusterDriver {
  readonly label = 'manifests';
  readonly sourceArgs: readonly string[];
  private step = 0;

  constructor(private readonly dir: string) {
    this.sourceArgs = ['--manifests', dir];
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
  }

  async set(objects: readonly KubeObject[]): Promise<void> {
    const tmp = join(this.dir, `.cluster-${this.step++}.tmp`);
    writeFileSync(tmp, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 1));
    renameSync(tmp, join(this.dir, 'cluster.json'));
  }
}

function resourceOf(obj: KubeObject): ResourceName {
  if (obj.kind === 'Service') return 'services';
  if (obj.kind === 'EndpointSlice') return 'endpointslices';
  if (obj.kind === 'Node') return 'nodes';
  throw new Error(`no fixture resource for kind ${String(obj.kind)}`);
}

/** --kubeconfig FILE: creates, updates and deletes objects in the fixture API server. */
export class FixtureCluster implements ClusterDriver {
  readonly label = 'fixture API server';
  readonly sourceArgs: readonly string[];
  private readonly current = new Map<string, KubeObject>();

  constructor(
    readonly api: FixtureApiServer,
    kubeconfig: string,
  ) {
    this.sourceArgs = ['--kubeconfig', kubeconfig];
  }

  async set(objects: readonly KubeObject[]): Promise<void> {
    const wanted = new Map(objects.map((o) => [`${resourceOf(o)}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`, o]));
    for (const [key, obj] of this.current) {
      if (wanted.has(key)) continue;
      this.api.delete(resourceOf(obj), obj.metadata.namespace, obj.metadata.name ?? '');
      this.current.delete(key);
    }
    for (const [key, obj] of wanted) {
      const had = this.current.get(key);
      if (had && JSON.stringify(had) === JSON.stringify(obj)) continue;
      const copy = structuredClone(obj);
      if (had) this.api.update(resourceOf(obj), copy);
      else this.api.create(resourceOf(obj), copy);
      this.current.set(key, obj);
    }
  }
}
