// EndpointSlices of one service, checked and merged, and the kube-proxy rules that pick which
// endpoints a virtual server uses: ready first, serving+terminating as a fallback, topology hints
// only when every ready endpoint has them, node-local subsets for the traffic policies.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { Family } from '../vocabulary/ipvs.js';
import type { ModelObjectRef, ModelWarning } from './types.js';
import { parseIp } from './ip.js';
import { list, warningOn } from './objects.js';

/** The API's own limits (validation of discovery.k8s.io/v1): larger slices are skipped. */
export const MAX_SLICE_ENDPOINTS = 1000;
export const MAX_SLICE_PORTS = 100;

interface SliceEndpoint {
  address: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zoneHints: ReadonlySet<string>;
  nodeHints: ReadonlySet<string>;
  pod?: { namespace: string; name: string };
}

export interface ParsedSlice {
  name: string;
  family: Family;
  /** Port number by "PROTOCOL/name". */
  ports: ReadonlyMap<string, number>;
  endpoints: readonly SliceEndpoint[];
  /** Some endpoint carries topology hints: the result then depends on this node's zone. */
  hasHints: boolean;
}

export type Endpoint = SliceEndpoint & { port: number };

const ADDRESS_TYPES: Readonly<Record<string, Family>> = { IPv4: 'inet', IPv6: 'inet6' };

/** Checks one slice; undefined when it has nothing usable for a family this node serves. */
export function parseSlice(slice: V1EndpointSlice, families: ReadonlySet<Family>): { slice?: ParsedSlice; warnings: ModelWarning[] } {
  const warnings: ModelWarning[] = [];
  const name = slice.metadata?.name ?? '';
  const ref: ModelObjectRef = { kind: 'EndpointSlice', namespace: slice.metadata?.namespace ?? '', name };
  const warn = (field: string, message: string): void => {
    warnings.push(warningOn(ref, field, message));
  };
  const addressType = slice.addressType;
  if (addressType === 'FQDN') return { warnings };
  const family = Object.prototype.hasOwnProperty.call(ADDRESS_TYPES, addressType) ? ADDRESS_TYPES[addressType] : undefined;
  if (!family) {
    warn('addressType', `unknown address type "${String(addressType)}"; slice skipped`);
    return { warnings };
  }
  if (!families.has(family)) return { warnings };
  const rawEndpoints = list(slice.endpoints);
  const rawPorts = list(slice.ports);
  if (rawEndpoints.length > MAX_SLICE_ENDPOINTS || rawPorts.length > MAX_SLICE_PORTS) {
    warn(
      rawPorts.length > MAX_SLICE_PORTS ? 'ports' : 'endpoints',
      `${rawEndpoints.length} endpoints and ${rawPorts.length} ports exceed the API limits (${MAX_SLICE_ENDPOINTS}, ${MAX_SLICE_PORTS}); slice skipped`,
    );
    return { warnings };
  }
  const ports = new Map<string, number>();
  rawPorts.forEach((p, i) => {
    if (!p || typeof p !== 'object') return warn(`ports[${i}]`, 'not an object; ignored');
    const protocol = p.protocol ?? 'TCP';
    const key = `${protocol}/${typeof p.name === 'string' ? p.name : ''}`;
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      return warn(`ports[${i}].port`, `${String(p.port)} is not a port (1..65535); ignored`);
    }
    if (ports.has(key)) return warn(`ports[${i}]`, `duplicate ${key} port; ignored`);
    ports.set(key, p.port);
  });
  const endpoints: SliceEndpoint[] = [];
  let hasHints = false;
  rawEndpoints.forEach((e, i) => {
    const field = `endpoints[${i}]`;
    if (!e || typeof e !== 'object') return warn(field, 'not an object; ignored');
    const addresses = list(e.addresses);
    // Consumers use only the first address (API docs: the others are for future use).
    if (addresses.length === 0) return warn(`${field}.addresses`, 'endpoint without addresses; ignored');
    const ip = parseIp(addresses[0]);
    if (!ip) return warn(`${field}.addresses[0]`, `"${String(addresses[0])}" is not an IP address; ignored`);
    if (ip.family !== family) return warn(`${field}.addresses[0]`, `${ip.address} is not of address type ${addressType}; ignored`);
    const c = e.conditions ?? {};
    // API semantics: ready nil means ready; serving nil means "same as ready"; terminating nil false.
    const ready = c.ready !== false;
    const serving = c.serving === undefined || c.serving === null ? ready : c.serving === true;
    const zoneHints = e.hints ? hintNames(e.hints.forZones) : NO_HINTS;
    const nodeHints = e.hints ? hintNames(e.hints.forNodes) : NO_HINTS;
    if (zoneHints.size > 0 || nodeHints.size > 0) hasHints = true;
    const ref = e.targetRef;
    endpoints.push({
      address: ip.address,
      ready,
      serving,
      terminating: c.terminating === true,
      nodeName: typeof e.nodeName === 'string' && e.nodeName !== '' ? e.nodeName : undefined,
      zoneHints,
      nodeHints,
      pod:
        ref && ref.kind === 'Pod' && typeof ref.name === 'string' ? { namespace: ref.namespace ?? slice.metadata?.namespace ?? '', name: ref.name } : undefined,
    });
  });
  return { slice: { name, family, ports, endpoints, hasHints }, warnings };
}

const NO_HINTS: ReadonlySet<string> = new Set();

function hintNames(hints: readonly { name?: string }[] | undefined): ReadonlySet<string> {
  const names = list(hints)
    .map((h) => h?.name)
    .filter((n): n is string => typeof n === 'string' && n !== '');
  return names.length === 0 ? NO_HINTS : new Set(names);
}

function rank(e: SliceEndpoint): number {
  return e.ready ? 2 : e.serving && e.terminating ? 1 : 0;
}

/**
 * The endpoints of one service port in one family, merged across slices (given sorted by name)
 * and de-duplicated by address and port: the better-conditioned copy wins, then the first slice.
 */
export function endpointsFor(slices: readonly ParsedSlice[], portName: string, protocol: string, family: Family): Endpoint[] {
  const key = `${protocol}/${portName}`;
  const byAddr = new Map<string, Endpoint>();
  for (const s of slices) {
    if (s.family !== family) continue;
    const port = s.ports.get(key);
    if (port === undefined) continue;
    for (const e of s.endpoints) {
      const id = `${e.address}/${port}`;
      const seen = byAddr.get(id);
      if (seen && rank(e) <= rank(seen)) continue;
      byAddr.set(id, {
        address: e.address,
        port,
        ready: e.ready,
        serving: e.serving,
        terminating: e.terminating,
        nodeName: e.nodeName,
        zoneHints: e.zoneHints,
        nodeHints: e.nodeHints,
        pod: e.pod,
      });
    }
  }
  return [...byAddr.values()];
}

export interface Categorized {
  /** Endpoints for Cluster policy, topology applied. */
  cluster: Endpoint[];
  /** This node's endpoints (ready ones, else serving+terminating ones). */
  local: Endpoint[];
  /** Some endpoint is ready or serving+terminating anywhere. */
  hasAny: boolean;
  /** `cluster` was narrowed by topology hints meant for this node or its zone. */
  byTopology: boolean;
}

/** kube-proxy's CategorizeEndpoints (pkg/proxy/topology.go), computing both sets. */
export function categorize(endpoints: readonly Endpoint[], nodeName: string, zone: string): Categorized {
  const topology = topologyMode(endpoints, nodeName, zone);
  const allowed = (e: Endpoint): boolean => (topology === 'zone' ? e.zoneHints.has(zone) : topology === 'node' ? e.nodeHints.has(nodeName) : true);
  let cluster = endpoints.filter((e) => e.ready && allowed(e));
  if (cluster.length === 0) cluster = endpoints.filter((e) => e.serving && e.terminating && allowed(e));
  let local = endpoints.filter((e) => e.ready && e.nodeName === nodeName);
  if (local.length === 0) local = endpoints.filter((e) => e.serving && e.terminating && e.nodeName === nodeName);
  const hasAny = endpoints.some((e) => e.ready || (e.serving && e.terminating));
  return { cluster, local, hasAny, byTopology: topology !== '' };
}

/**
 * Hints are used only when every ready endpoint has them and one is meant for us; node hints
 * (PreferSameNode) before zone hints, as kube-proxy does. The EndpointSlice controller only
 * writes hints for services asking for them (trafficDistribution or the topology-mode
 * annotation), so the hints themselves are the switch.
 */
function topologyMode(endpoints: readonly Endpoint[], nodeName: string, zone: string): 'node' | 'zone' | '' {
  let allNode = true;
  let forNode = false;
  let allZone = true;
  let forZone = false;
  for (const e of endpoints) {
    if (!e.ready) continue;
    if (e.nodeHints.size === 0) allNode = false;
    else if (e.nodeHints.has(nodeName)) forNode = true;
    if (e.zoneHints.size === 0) allZone = false;
    else if (zone !== '' && e.zoneHints.has(zone)) forZone = true;
  }
  if (allNode && forNode) return 'node';
  if (allZone && forZone) return 'zone';
  return '';
}
