// A Service turned into the few facts the model needs, after every field was checked. Anything
// invalid is dropped with a warning naming the field; nothing here throws.
import type { V1Service } from '@kubernetes/client-node';
import type { Family, Protocol } from '../vocabulary/ipvs.js';
import type { ModelObjectRef, ModelWarning } from './types.js';
import { describeSchedulerProblem, resolveScheduler, type ResolvedConfig, type SchedulerChoice } from './config.js';
import { parseCidr, parseIp, type ParsedCidr, type ParsedIp } from './ip.js';
import { isOurs, list, ownerId, timestampMs, SCHEDULER_ANNOTATION, SCHEDULER_FLAGS_ANNOTATION, warningOn } from './objects.js';

export const DEFAULT_AFFINITY_TIMEOUT = 10800;
export const MAX_AFFINITY_TIMEOUT = 86400;
/** Bounds on list sizes: an object beyond them is skipped as a whole rather than half-served. */
export const MAX_SERVICE_PORTS = 256;
export const MAX_SERVICE_IPS = 64;

export interface PortSpec {
  index: number;
  name: string;
  protocol: Protocol;
  port: number;
  nodePort?: number;
  /** targetPort when it names a container port (resolved by the EndpointSlice controller). */
  targetPortName?: string;
}

export interface IpSpec {
  ip: ParsedIp;
  field: string;
}

export interface ServiceSpec {
  id: string;
  namespace: string;
  name: string;
  /** creationTimestamp in ms; +Infinity when absent (such a service loses every conflict). */
  created: number;
  clusterIPs: IpSpec[];
  externalIPs: IpSpec[];
  loadBalancerIPs: IpSpec[];
  ports: PortSpec[];
  scheduler: SchedulerChoice;
  /** Persistence timeout in seconds; 0 without ClientIP affinity. */
  affinityTimeout: number;
  externalLocal: boolean;
  internalLocal: boolean;
  sourceRanges: ParsedCidr[];
}

const PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);

export function parseService(svc: V1Service, config: ResolvedConfig): { spec?: ServiceSpec; warnings: ModelWarning[] } {
  const warnings: ModelWarning[] = [];
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const id = ownerId(namespace, name);
  const ref: ModelObjectRef = { kind: 'Service', namespace, name };
  const warn = (field: string, message: string): void => {
    warnings.push(warningOn(ref, field, message));
  };
  const skip = (field: string, message: string): { warnings: ModelWarning[] } => {
    warn(field, `${message}; service skipped`);
    return { warnings };
  };
  if (!isOurs(svc.metadata?.labels, config.serviceProxyName)) return { warnings };
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object') return skip('spec', 'no spec');
  const type = spec.type ?? 'ClusterIP';
  if (type === 'ExternalName') return { warnings };
  if (type !== 'ClusterIP' && type !== 'NodePort' && type !== 'LoadBalancer') {
    return skip('spec.type', `unknown service type "${String(type)}"`);
  }

  // clusterIPs, falling back to the singular field for objects written before dual-stack.
  const ipList = list(spec.clusterIPs);
  const rawIps = ipList.length > 0 ? ipList : spec.clusterIP !== undefined && spec.clusterIP !== '' ? [spec.clusterIP] : [];
  const ipField = ipList.length > 0 ? 'spec.clusterIPs' : 'spec.clusterIP';
  if (rawIps.includes('None')) return { warnings };
  if (rawIps.length === 0) return skip(ipField, 'no clusterIP (an unallocated service is never given one here)');
  if (rawIps.length > 2) return skip(ipField, `${rawIps.length} cluster IPs; at most one per family`);
  const clusterIPs: IpSpec[] = [];
  const serviceFamilies = new Set<Family>();
  rawIps.forEach((raw, i) => {
    const field = ipList.length > 0 ? `${ipField}[${i}]` : ipField;
    const ip = parseIp(raw);
    if (!ip) return warn(field, `"${String(raw)}" is not an IP address; ignored`);
    if (serviceFamilies.has(ip.family)) return warn(field, `second ${ip.family} cluster IP ${ip.address}; ignored`);
    serviceFamilies.add(ip.family);
    if (config.families.has(ip.family)) clusterIPs.push({ ip, field });
  });
  // A service with no cluster IP of a family this node serves is another proxier's business.
  if (clusterIPs.length === 0) return { warnings };

  const ports = parsePorts(svc, type, warn);
  if (!ports) return { warnings };

  const externalIPs = parseIpList(list(spec.externalIPs), 'spec.externalIPs', serviceFamilies, config, warn);
  if (!externalIPs) return skip('spec.externalIPs', `more than ${MAX_SERVICE_IPS} entries`);
  let loadBalancerIPs: IpSpec[] = [];
  if (type === 'LoadBalancer') {
    const ingress = list(svc.status?.loadBalancer?.ingress);
    if (ingress.length > MAX_SERVICE_IPS) return skip('status.loadBalancer.ingress', `more than ${MAX_SERVICE_IPS} entries`);
    for (let i = 0; i < ingress.length; i++) {
      const entry = ingress[i];
      // ipMode Proxy: the load balancer proxies and sends from its own address; binding the VIP
      // locally would short-circuit traffic that must go through it.
      if (!entry || entry.ip === undefined || entry.ip === '' || entry.ipMode === 'Proxy') continue;
      const lb = parseIpList([entry.ip], `status.loadBalancer.ingress[${i}].ip`, serviceFamilies, config, warn, true);
      if (lb) loadBalancerIPs = loadBalancerIPs.concat(lb);
    }
  }

  const scheduler = parseScheduler(svc, config, warn);
  const affinityTimeout = parseAffinity(svc, warn);
  const external = spec.externalTrafficPolicy;
  if (external !== undefined && external !== 'Cluster' && external !== 'Local') {
    warn('spec.externalTrafficPolicy', `unknown policy "${String(external)}"; Cluster used`);
  }
  // kube-proxy's ExternallyAccessible: a ClusterIP service with externalIPs is reachable from
  // outside, so Local applies to its externalIP virtual servers.
  const externallyAccessible = type !== 'ClusterIP' || list(spec.externalIPs).length > 0;
  if (external === 'Local' && !externallyAccessible) {
    warn('spec.externalTrafficPolicy', 'Local only applies to NodePort and LoadBalancer services and to services with externalIPs; ignored');
  }
  const internal = spec.internalTrafficPolicy;
  if (internal !== undefined && internal !== 'Cluster' && internal !== 'Local') {
    warn('spec.internalTrafficPolicy', `unknown policy "${String(internal)}"; Cluster used`);
  }
  const sourceRanges: ParsedCidr[] = [];
  if (type === 'LoadBalancer') {
    list(spec.loadBalancerSourceRanges).forEach((raw, i) => {
      const cidr = parseCidr(typeof raw === 'string' ? raw.trim() : raw);
      if (!cidr) warn(`spec.loadBalancerSourceRanges[${i}]`, `"${String(raw)}" is not a CIDR; ignored`);
      else if (!sourceRanges.some((c) => c.cidr === cidr.cidr)) sourceRanges.push(cidr);
    });
  }
  return {
    spec: {
      id,
      namespace,
      name,
      created: timestampMs(svc.metadata?.creationTimestamp) ?? Number.POSITIVE_INFINITY,
      clusterIPs,
      externalIPs,
      loadBalancerIPs,
      ports,
      scheduler,
      affinityTimeout,
      externalLocal: external === 'Local' && externallyAccessible,
      internalLocal: internal === 'Local',
      sourceRanges,
    },
    warnings,
  };
}

type Warn = (field: string, message: string) => void;

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

function parsePorts(svc: V1Service, type: string, warn: Warn): PortSpec[] | undefined {
  const raw = list(svc.spec?.ports);
  if (raw.length === 0) {
    warn('spec.ports', 'no ports; service skipped');
    return undefined;
  }
  if (raw.length > MAX_SERVICE_PORTS) {
    warn('spec.ports', `${raw.length} ports, more than ${MAX_SERVICE_PORTS}; service skipped`);
    return undefined;
  }
  const ports: PortSpec[] = [];
  const seenPort = new Set<string>();
  const seenNodePort = new Set<string>();
  const seenName = new Set<string>();
  raw.forEach((p, i) => {
    const field = `spec.ports[${i}]`;
    if (!p || typeof p !== 'object') return warn(field, 'not an object; ignored');
    const name = typeof p.name === 'string' ? p.name : '';
    const protocol = p.protocol ?? 'TCP';
    if (!PROTOCOLS.has(protocol)) return warn(`${field}.protocol`, `unknown protocol "${String(protocol)}"; port ignored`);
    if (!validPort(p.port)) return warn(`${field}.port`, `${String(p.port)} is not a port (1..65535); port ignored`);
    if (seenName.has(name)) return warn(`${field}.name`, `duplicate port name "${name}"; port ignored`);
    const key = `${protocol}/${p.port}`;
    if (seenPort.has(key)) return warn(`${field}.port`, `duplicate ${protocol} port ${p.port}; port ignored`);
    seenName.add(name);
    seenPort.add(key);
    const spec: PortSpec = { index: i, name, protocol: protocol as PortSpec['protocol'], port: p.port };
    if (typeof p.targetPort === 'string' && p.targetPort !== '') spec.targetPortName = p.targetPort;
    if (type !== 'ClusterIP' && p.nodePort !== undefined && p.nodePort !== null && p.nodePort !== 0) {
      const nodeKey = `${protocol}/${p.nodePort}`;
      if (!validPort(p.nodePort)) warn(`${field}.nodePort`, `${String(p.nodePort)} is not a port (1..65535); no NodePort`);
      else if (seenNodePort.has(nodeKey)) warn(`${field}.nodePort`, `duplicate ${protocol} nodePort ${p.nodePort}; no NodePort`);
      else {
        seenNodePort.add(nodeKey);
        spec.nodePort = p.nodePort;
      }
    }
    ports.push(spec);
  });
  if (ports.length === 0) {
    warn('spec.ports', 'no valid port; service skipped');
    return undefined;
  }
  return ports;
}

/**
 * Parses a list of extra VIPs. An address of a family the service has no cluster IP of is ignored
 * with a warning (kube-proxy's per-family proxiers ignore it too); one of a family this node does
 * not serve is ignored quietly. Undefined when the list is too long.
 */
function parseIpList(
  raw: readonly unknown[],
  field: string,
  serviceFamilies: ReadonlySet<Family>,
  config: ResolvedConfig,
  warn: Warn,
  single = false,
): IpSpec[] | undefined {
  if (raw.length > MAX_SERVICE_IPS) return undefined;
  const out: IpSpec[] = [];
  raw.forEach((text, i) => {
    const f = single ? field : `${field}[${i}]`;
    const ip = parseIp(text);
    if (!ip) return warn(f, `"${String(text)}" is not an IP address; ignored`);
    if (!serviceFamilies.has(ip.family)) return warn(f, `${ip.address} is ${ip.family} but the service has no ${ip.family} cluster IP; ignored`);
    if (!config.families.has(ip.family)) return;
    if (!out.some((o) => o.ip.address === ip.address)) out.push({ ip, field: f });
  });
  return out;
}

function parseScheduler(svc: V1Service, config: ResolvedConfig, warn: Warn): SchedulerChoice {
  const annotations = svc.metadata?.annotations ?? {};
  const sched = annotations[SCHEDULER_ANNOTATION];
  const flags = annotations[SCHEDULER_FLAGS_ANNOTATION];
  if (sched === undefined && flags === undefined) return config.scheduler;
  const name = typeof sched === 'string' ? sched.trim() : config.scheduler.scheduler;
  const flagNames =
    typeof flags === 'string'
      ? flags
          .split(',')
          .map((f) => f.trim())
          .filter((f) => f !== '')
      : [];
  const resolved = resolveScheduler(name, flagNames);
  if (resolved.ok) return resolved.choice;
  const field = resolved.problem.kind === 'unknown-scheduler' ? SCHEDULER_ANNOTATION : SCHEDULER_FLAGS_ANNOTATION;
  warn(`metadata.annotations[${field}]`, `${describeSchedulerProblem(resolved.problem)}; global scheduler ${config.scheduler.scheduler} used`);
  return config.scheduler;
}

function parseAffinity(svc: V1Service, warn: Warn): number {
  const affinity = svc.spec?.sessionAffinity;
  if (affinity === undefined || affinity === 'None') return 0;
  if (affinity !== 'ClientIP') {
    warn('spec.sessionAffinity', `unknown session affinity "${String(affinity)}"; None used`);
    return 0;
  }
  const field = 'spec.sessionAffinityConfig.clientIP.timeoutSeconds';
  const t = svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t === undefined || t === null) return DEFAULT_AFFINITY_TIMEOUT;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) {
    warn(field, `${String(t)} is not a timeout (1..${MAX_AFFINITY_TIMEOUT} s); default ${DEFAULT_AFFINITY_TIMEOUT} used`);
    return DEFAULT_AFFINITY_TIMEOUT;
  }
  if (t > MAX_AFFINITY_TIMEOUT) {
    warn(field, `${t} s exceeds ${MAX_AFFINITY_TIMEOUT} s; clamped`);
    return MAX_AFFINITY_TIMEOUT;
  }
  return t;
}
