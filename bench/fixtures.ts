// Generated clusters for the benchmarks: N ClusterIP services x E endpoints, deterministic
// addresses, written as manifests for the agent and as `ipvsadm -R` / `ip -batch` input for the
// peers, so both sides load exactly the same table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The i-th address counting up from a dotted quad base (no wrap checks: callers stay in range). */
export function nthAddress(base: string, i: number): string {
  const n = base.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0) + i;
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export interface BenchCluster {
  services: number;
  endpointsPerService: number;
}

export const clusterIp = (i: number): string => nthAddress('10.96.0.1', i);
export const endpointIp = (service: number, e: number, perService: number): string => nthAddress('10.128.0.1', service * perService + e);
/** Endpoints added after the initial table get addresses of their own, so the first ones keep theirs. */
export const addedEndpointIp = (service: number, k: number): string => nthAddress('10.192.0.1', service * 64 + k);

/** The node the agent under test runs as (`--node-name`). */
export const BENCH_NODE = 'bench-node';
const NODES = 20;

/**
 * Endpoints spread over a 20-node cluster, one node in 20 being the bench node (so its
 * endpoints take the hairpin path too); added endpoints (e >= 10) land on other nodes, as almost
 * every endpoint change does from any one node's point of view.
 */
export function endpointNode(service: number, e: number): string {
  const n = (service + e) % NODES;
  return n === 0 && e < 10 ? BENCH_NODE : `node-${n === 0 ? NODES : n}`;
}

/** A Service with its EndpointSlice, as the API server would hand them out; `extraEndpoints` (< 64) are added ones. */
export function serviceObjects(i: number, perService: number, extraEndpoints = 0, annotations?: Record<string, string>): [object, object] {
  const name = `svc-${i}`;
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'bench', uid: `uid-${i}`, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIp(i),
      clusterIPs: [clusterIp(i)],
      ipFamilies: ['IPv4'],
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    },
  };
  const endpoints = [];
  for (let e = 0; e < perService + extraEndpoints; e++) {
    const address = e < perService ? endpointIp(i, e, perService) : addedEndpointIp(i, e - perService);
    endpoints.push({ addresses: [address], conditions: { ready: true, serving: true, terminating: false }, nodeName: endpointNode(i, e) });
  }
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${name}-abcde`,
      namespace: 'bench',
      labels: { 'kubernetes.io/service-name': name },
      resourceVersion: '1',
      ...(annotations ? { annotations } : {}),
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints,
  };
  return [service, slice];
}

/** Write the cluster as one `kind: List` JSON manifest plus the peers' inputs; returns the paths. */
export function writeCluster(dir: string, c: BenchCluster): { manifests: string; ipvsadm: string; ipBatch: string } {
  mkdirSync(join(dir, 'manifests'), { recursive: true });
  const items: object[] = [];
  const ipvsadm: string[] = [];
  const ipBatch: string[] = [];
  for (let i = 0; i < c.services; i++) {
    items.push(...serviceObjects(i, c.endpointsPerService));
    ipvsadm.push(`-A -t ${clusterIp(i)}:80 -s rr`);
    for (let e = 0; e < c.endpointsPerService; e++) {
      ipvsadm.push(`-a -t ${clusterIp(i)}:80 -r ${endpointIp(i, e, c.endpointsPerService)}:8080 -m -w 1`);
    }
    ipBatch.push(`address add ${clusterIp(i)}/32 dev kube-ipvs0`);
  }
  const paths = {
    manifests: join(dir, 'manifests', 'cluster.json'),
    ipvsadm: join(dir, 'ipvsadm-restore.txt'),
    ipBatch: join(dir, 'ip-batch.txt'),
  };
  writeFileSync(paths.manifests, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  writeFileSync(paths.ipvsadm, ipvsadm.join('\n') + '\n');
  writeFileSync(paths.ipBatch, ipBatch.join('\n') + '\n');
  return paths;
}
