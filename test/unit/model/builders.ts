// Builders for the Kubernetes objects the model tests feed in. Plain object literals, typed as
// the client's classes; each builder takes overrides for the fields a test is about.
import type { V1EndpointSlice, V1Node, V1Service, V1ServicePort, V1Endpoint } from '@kubernetes/client-node';
import type { LinkAddress } from '../../../src/vocabulary/addresses.js';
import type { ModelConfig } from '../../../src/model/config.js';

export const NODE = 'node-a';

export function config(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    nodeName: NODE,
    scheduler: 'rr',
    schedulerFlags: [],
    nodePortAddresses: [],
    ipFamilies: ['inet', 'inet6'],
    dummyLinkName: 'kube-ipvs0',
    ...over,
  };
}

export interface ServiceOptions {
  namespace?: string;
  type?: string;
  clusterIPs?: string[];
  ports?: Partial<V1ServicePort>[];
  externalIPs?: string[];
  lbIngress?: { ip?: string; ipMode?: string; hostname?: string }[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  created?: string;
  spec?: Record<string, unknown>;
}

export function service(name: string, o: ServiceOptions = {}): V1Service {
  const clusterIPs = o.clusterIPs ?? ['10.0.0.1'];
  return {
    metadata: {
      namespace: o.namespace ?? 'default',
      name,
      annotations: o.annotations,
      labels: o.labels,
      creationTimestamp: new Date(o.created ?? '2026-01-01T00:00:00Z'),
      resourceVersion: '1',
    },
    spec: {
      type: o.type ?? 'ClusterIP',
      clusterIP: clusterIPs[0],
      clusterIPs,
      ports: (o.ports ?? [{ port: 80, protocol: 'TCP', targetPort: 8080 }]) as V1ServicePort[],
      externalIPs: o.externalIPs,
      ...o.spec,
    },
    status: o.lbIngress ? { loadBalancer: { ingress: o.lbIngress } } : undefined,
  };
}

export interface EndpointOptions {
  ready?: boolean | null;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
  zones?: string[];
  nodes?: string[];
  pod?: string;
}

export function ep(address: string | string[], o: EndpointOptions = {}): V1Endpoint {
  const conditions: Record<string, boolean> = {};
  if (o.ready !== undefined && o.ready !== null) conditions.ready = o.ready;
  if (o.serving !== undefined) conditions.serving = o.serving;
  if (o.terminating !== undefined) conditions.terminating = o.terminating;
  const e: V1Endpoint = { addresses: Array.isArray(address) ? address : [address], conditions };
  if (o.nodeName) e.nodeName = o.nodeName;
  if (o.zones || o.nodes) {
    e.hints = {};
    if (o.zones) e.hints.forZones = o.zones.map((name) => ({ name }));
    if (o.nodes) e.hints.forNodes = o.nodes.map((name) => ({ name }));
  }
  if (o.pod) e.targetRef = { kind: 'Pod', namespace: 'default', name: o.pod };
  return e;
}

export function slice(
  name: string,
  serviceName: string | undefined,
  endpoints: V1Endpoint[],
  ports: { name?: string; port?: number; protocol?: string }[] = [{ name: '', port: 8080, protocol: 'TCP' }],
  o: { namespace?: string; addressType?: string; trigger?: string; labels?: Record<string, string> } = {},
): V1EndpointSlice {
  const labels: Record<string, string> = { ...(o.labels ?? {}) };
  if (serviceName !== undefined) labels['kubernetes.io/service-name'] = serviceName;
  return {
    metadata: {
      namespace: o.namespace ?? 'default',
      name,
      labels,
      annotations: o.trigger ? { 'endpoints.kubernetes.io/last-change-trigger-time': o.trigger } : undefined,
      resourceVersion: '1',
    },
    addressType: o.addressType ?? 'IPv4',
    endpoints,
    ports,
  };
}

export function node(o: { zone?: string; deleting?: boolean; taint?: string; internalIPs?: string[] } = {}): V1Node {
  return {
    metadata: {
      name: NODE,
      labels: o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {},
      deletionTimestamp: o.deleting ? new Date('2026-01-02T00:00:00Z') : undefined,
    },
    spec: o.taint ? { taints: [{ key: o.taint, effect: 'NoSchedule' }] } : {},
    status: { addresses: (o.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })) },
  };
}

export function link(ifname: string, address: string, ifindex = 2): LinkAddress {
  return { ifindex, ifname, family: address.includes(':') ? 'inet6' : 'inet', address, prefixLen: address.includes(':') ? 64 : 24 };
}
