// The per-service function: one Service with its slices and the node-wide inputs in, its
// virtual servers, VIPs and warnings out. Shared by the incremental model and computeFromScratch.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { SvcFlag, type Family, type Protocol } from '../vocabulary/ipvs.js';
import { serviceKey } from '../vocabulary/ipvs-keys.js';
import type { DesiredRealServer, DesiredVirtualServer, ModelObjectRef, ModelWarning, ServiceRef, VipAddress } from './types.js';
import type { ResolvedConfig } from './config.js';
import { categorize, endpointsFor, parseSlice, type Endpoint, type ParsedSlice } from './endpoints.js';
import { isOurs, ownerRef, warningOn } from './objects.js';
import { parseService, type PortSpec, type ServiceSpec } from './service-spec.js';

/** Node-wide inputs a service's result depends on. */
export interface NodeContext {
  zone: string;
  nodePortAddresses: readonly VipAddress[];
  /** Addresses on links other than the dummy one: the node's own. */
  localAddresses: ReadonlySet<string>;
}

export interface ServiceResult {
  id: string;
  /** The Service, as warnings about it name it. */
  ref: ModelObjectRef;
  /** creationTimestamp in ms (+Infinity when unknown): the older service wins a conflict. */
  created: number;
  virtualServers: ReadonlyMap<string, DesiredVirtualServer>;
  /** Which field of the Service produced each virtual server, for conflict warnings. */
  fields: ReadonlyMap<string, string>;
  addresses: ReadonlyMap<string, VipAddress>;
  warnings: ModelWarning[];
  /** The result depends on the node's addresses (the service has NodePorts). */
  usesNodeAddresses: boolean;
  /** externalIPs and load-balancer IPs: whether each is bound depends on the node's own addresses. */
  externalAddresses: readonly string[];
  /** The result depends on the node's zone (some endpoint carries hints). */
  usesZone: boolean;
  /** externalTrafficPolicy Local with endpoints elsewhere but none here (cluster ones used). */
  noLocalExternal: boolean;
  /** internalTrafficPolicy Local with endpoints elsewhere but none here (no real servers). */
  noLocalInternal: boolean;
}

export function emptyResult(id: string, warnings: ModelWarning[] = []): ServiceResult {
  return {
    id,
    ref: ownerRef('Service', id),
    created: Number.POSITIVE_INFINITY,
    virtualServers: new Map(),
    fields: new Map(),
    addresses: new Map(),
    warnings,
    usesNodeAddresses: false,
    externalAddresses: [],
    usesZone: false,
    noLocalExternal: false,
    noLocalInternal: false,
  };
}

export function computeService(
  id: string,
  service: V1Service | undefined,
  slices: Iterable<V1EndpointSlice>,
  config: ResolvedConfig,
  node: NodeContext,
): ServiceResult {
  if (!service) return emptyResult(id);
  const parsed = parseService(service, config);
  const warnings = parsed.warnings;
  const spec = parsed.spec;
  if (!spec) return emptyResult(id, warnings);
  const ref: ModelObjectRef = { kind: 'Service', namespace: spec.namespace, name: spec.name };

  const parsedSlices: ParsedSlice[] = [];
  for (const raw of [...slices].sort(bySliceName)) {
    if (!isOurs(raw.metadata?.labels, config.serviceProxyName)) continue;
    const p = parseSlice(raw, config.families);
    for (const w of p.warnings) warnings.push(w);
    if (p.slice) parsedSlices.push(p.slice);
  }

  const vss = new Map<string, DesiredVirtualServer>();
  const fields = new Map<string, string>();
  const addresses = new Map<string, VipAddress>();
  let noLocalExternal = false;
  let noLocalInternal = false;
  const add = (vs: DesiredVirtualServer, field: string): void => {
    const key = serviceKey(vs.service);
    const first = fields.get(key);
    if (first !== undefined) {
      warnings.push(warningOn(ref, field, `virtual server ${key} is already produced by ${first}; ignored`));
      return;
    }
    vss.set(key, vs);
    fields.set(key, field);
  };
  const vip = (family: Family, address: string): void => {
    addresses.set(address, { family, address });
  };

  for (const ip of spec.clusterIPs) vip(ip.ip.family, ip.ip.address);
  // An externalIP or LB IP that is already a node address is served but not bound to the dummy
  // link a second time (kube-proxy leaves it off too): the address stays the interface's own.
  const externalAddresses: string[] = [];
  for (const ip of [...spec.externalIPs, ...spec.loadBalancerIPs]) {
    externalAddresses.push(ip.ip.address);
    if (!node.localAddresses.has(ip.ip.address)) vip(ip.ip.family, ip.ip.address);
  }
  for (const port of spec.ports) {
    const unmatched = unmatchedPortWarning(ref, port, parsedSlices);
    if (unmatched) warnings.push(unmatched);
    for (const cip of spec.clusterIPs) {
      const family = cip.ip.family;
      const cat = categorize(endpointsFor(parsedSlices, port.name, port.protocol, family), config.nodeName, node.zone);
      // internalTrafficPolicy Local: the API documents that traffic is dropped when this node
      // has no endpoint, so we give no real servers (kube-proxy's IPVS mode falls back instead).
      const internal = spec.internalLocal ? cat.local : cat.cluster;
      if (spec.internalLocal && cat.local.length === 0 && cat.hasAny) noLocalInternal = true;
      // externalTrafficPolicy Local without local endpoints: kube-proxy IPVS falls back to the
      // cluster endpoints (kubernetes#97081) so that pods here can still reach the VIP.
      let external = cat.cluster;
      if (spec.externalLocal) {
        if (cat.local.length > 0) external = cat.local;
        else if (cat.hasAny) noLocalExternal = true;
      }
      // Which real servers are this node's own choice (so the fleet view expects them to differ).
      const internalNodeLocal = spec.internalLocal || cat.byTopology;
      const externalNodeLocal = external === cat.local || cat.byTopology;
      const base = { spec, protocol: port.protocol, portName: port.name };
      const pf = `spec.ports[${port.index}]`;
      add(virtualServer(base, family, cip.ip.address, port.port, 'ClusterIP', internal, false, internalNodeLocal), `${pf}.port`);
      for (const e of spec.externalIPs) {
        if (e.ip.family !== family) continue;
        add(virtualServer(base, family, e.ip.address, port.port, 'ExternalIP', external, spec.externalLocal, externalNodeLocal), e.field);
      }
      for (const lb of spec.loadBalancerIPs) {
        if (lb.ip.family !== family) continue;
        add(virtualServer(base, family, lb.ip.address, port.port, 'LoadBalancer', external, spec.externalLocal, externalNodeLocal), lb.field);
      }
      if (port.nodePort !== undefined) {
        for (const a of node.nodePortAddresses) {
          if (a.family !== family) continue;
          add(virtualServer(base, family, a.address, port.nodePort, 'NodePort', external, spec.externalLocal, externalNodeLocal), `${pf}.nodePort`);
        }
      }
    }
  }

  return {
    id,
    ref,
    created: spec.created,
    virtualServers: vss,
    fields,
    addresses,
    warnings,
    usesNodeAddresses: spec.ports.some((p) => p.nodePort !== undefined),
    externalAddresses,
    usesZone: parsedSlices.some((s) => s.hasHints),
    noLocalExternal,
    noLocalInternal,
  };
}

/**
 * A service port no slice carries while the slices do list endpoints: its virtual servers get no
 * real servers. Usually a named targetPort no pod declares (the EndpointSlice controller then
 * leaves the port out), or a hand-written slice whose port name differs from the service's.
 */
function unmatchedPortWarning(ref: ModelObjectRef, port: PortSpec, slices: readonly ParsedSlice[]): ModelWarning | undefined {
  if (!slices.some((s) => s.endpoints.length > 0)) return undefined;
  const key = `${port.protocol}/${port.name}`;
  if (slices.some((s) => s.ports.has(key))) return undefined;
  const describe = (k: string): string => {
    const [protocol, name] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    return name === '' ? `${protocol} (unnamed)` : `${protocol} "${name}"`;
  };
  const carried = [...new Set(slices.flatMap((s) => [...s.ports.keys()]))].sort().map(describe);
  const has = carried.length > 0 ? `they carry ${carried.join(', ')}` : 'they carry no ports';
  const pf = `spec.ports[${port.index}]`;
  if (port.targetPortName !== undefined) {
    return warningOn(
      ref,
      `${pf}.targetPort`,
      `named port "${port.targetPortName}" (service port ${describe(key)}): no EndpointSlice of the service carries it (${has}); no real servers for this port`,
    );
  }
  return warningOn(ref, `${pf}.name`, `no EndpointSlice of the service carries port ${describe(key)} (${has}); no real servers for this port`);
}

function bySliceName(a: V1EndpointSlice, b: V1EndpointSlice): number {
  const x = a.metadata?.name ?? '';
  const y = b.metadata?.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function virtualServer(
  base: { spec: ServiceSpec; protocol: Protocol; portName: string },
  family: Family,
  address: string,
  port: number,
  kind: ServiceRef['kind'],
  endpoints: readonly Endpoint[],
  externalLocal: boolean,
  nodeLocalReals: boolean,
): DesiredVirtualServer {
  const { spec } = base;
  const timeout = spec.affinityTimeout;
  const reals: DesiredRealServer[] = endpoints.map((e) => {
    const r: DesiredRealServer = {
      family,
      address: e.address,
      port: e.port,
      forward: 'masq',
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
      terminating: !e.ready,
    };
    if (e.pod) r.pod = e.pod;
    if (e.nodeName !== undefined) r.nodeName = e.nodeName;
    return r;
  });
  reals.sort(byRealKey);
  return {
    service: {
      family,
      protocol: base.protocol,
      address,
      port,
      scheduler: spec.scheduler.scheduler,
      flags: spec.scheduler.flags | (timeout > 0 ? SvcFlag.PERSISTENT : 0),
      timeout,
      netmask: family === 'inet' ? 32 : 128,
    },
    reals,
    owner: { namespace: spec.namespace, name: spec.name, portName: base.portName, kind },
    externalLocal,
    sourceRanges: kind === 'LoadBalancer' ? spec.sourceRanges.filter((c) => c.family === family).map((c) => c.cidr) : [],
    ...(nodeLocalReals ? { nodeLocalReals: true as const } : {}),
  };
}

function byRealKey(a: DesiredRealServer, b: DesiredRealServer): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.port - b.port;
}

/** Deep equality of two desired virtual servers (reals are kept sorted, so order is canonical). */
export function sameDesiredVirtualServer(a: DesiredVirtualServer, b: DesiredVirtualServer): boolean {
  const s = a.service;
  const t = b.service;
  if (
    s.family !== t.family ||
    s.protocol !== t.protocol ||
    s.address !== t.address ||
    s.port !== t.port ||
    s.fwmark !== t.fwmark ||
    s.scheduler !== t.scheduler ||
    s.flags !== t.flags ||
    s.timeout !== t.timeout ||
    s.netmask !== t.netmask ||
    (s.peName ?? '') !== (t.peName ?? '')
  )
    return false;
  const o = a.owner;
  const p = b.owner;
  if (o.namespace !== p.namespace || o.name !== p.name || o.portName !== p.portName || o.kind !== p.kind) return false;
  if (a.externalLocal !== b.externalLocal || a.nodeLocalReals !== b.nodeLocalReals) return false;
  if (a.sourceRanges.length !== b.sourceRanges.length || a.sourceRanges.some((c, i) => c !== b.sourceRanges[i])) return false;
  if (a.reals.length !== b.reals.length) return false;
  for (let i = 0; i < a.reals.length; i++) {
    const r = a.reals[i];
    const q = b.reals[i];
    if (
      r.address !== q.address ||
      r.port !== q.port ||
      r.family !== q.family ||
      r.forward !== q.forward ||
      r.weight !== q.weight ||
      r.upperThreshold !== q.upperThreshold ||
      r.lowerThreshold !== q.lowerThreshold ||
      r.terminating !== q.terminating ||
      r.nodeName !== q.nodeName ||
      r.pod?.namespace !== q.pod?.namespace ||
      r.pod?.name !== q.pod?.name
    )
      return false;
  }
  return true;
}
