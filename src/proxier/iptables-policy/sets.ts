// The per-service data of the iptables side lives in ipsets, so the rules stay constant while
// services come and go. This file names the sets and computes their contents from the desired
// state (pure).
import ipaddr from 'ipaddr.js';
import type { Family, Protocol } from '../../vocabulary/ipvs.js';
import type { DesiredState, DesiredVirtualServer } from '../../model/types.js';
import { InvalidIptablesSettingError } from './errors.js';
import { SET_PREFIX, type IpSetMap, type IpSetType } from '../../iptables/ipsets.js';

/** The role of each set; the kernel name adds a family prefix (see setName). */
export const SetRole = {
  /** Every address bound on kube-ipvs0. */
  VIP: 'VIP',
  /** Every address,proto:port IPVS serves: the declared ports (others are rejected on VIPs). */
  VIP_PORT: 'VIP-PORT',
  /** ClusterIP address,proto:port. */
  CLUSTER_IP: 'CLUSTER-IP',
  /** externalIP and load-balancer ingress address,proto:port, externalTrafficPolicy Cluster only. */
  EXTERNAL: 'EXTERNAL',
  /** Node address,proto:port of node ports, externalTrafficPolicy Cluster only. */
  NODE_PORT: 'NODE-PORT',
  /**
   * real,proto:port,real of every masqueraded real server that may be on this node: a pod
   * reaching itself (hairpin). Only a local pod can reach itself through this node's IPVS.
   */
  LOOP_BACK: 'LOOP-BACK',
  /** Load-balancer address,proto:port that have loadBalancerSourceRanges. */
  LB_FIREWALL: 'LB-FW',
  /** address,proto:port,cidr admitted by loadBalancerSourceRanges. */
  LB_SOURCE_CIDR: 'LB-SOURCE-CIDR',
  /** --cluster-cidr ranges of this family. */
  CLUSTER_CIDR: 'CLUSTER-CIDR',
} as const;
export type SetRole = (typeof SetRole)[keyof typeof SetRole];

export const SET_TYPES: Readonly<Record<SetRole, IpSetType>> = {
  [SetRole.VIP]: 'hash:ip',
  [SetRole.VIP_PORT]: 'hash:ip,port',
  [SetRole.CLUSTER_IP]: 'hash:ip,port',
  [SetRole.EXTERNAL]: 'hash:ip,port',
  [SetRole.NODE_PORT]: 'hash:ip,port',
  [SetRole.LOOP_BACK]: 'hash:ip,port,ip',
  [SetRole.LB_FIREWALL]: 'hash:ip,port',
  [SetRole.LB_SOURCE_CIDR]: 'hash:ip,port,net',
  [SetRole.CLUSTER_CIDR]: 'hash:net',
};

/** Kernel name of a set, e.g. IPVS-PROXY-CLUSTER-IP or IPVS-PROXY6-CLUSTER-IP (ipset allows 31 chars). */
export function setName(family: Family, role: SetRole): string {
  return SET_PREFIX[family] + role;
}

/** The settings the iptables side depends on (a subset of Settings, plus the families served). */
export interface IptablesSettings {
  masqueradeAll: boolean;
  clusterCidr: readonly string[];
  masqueradeBit: number;
  families: readonly Family[];
  /**
   * This node's name. When set, LOOP-BACK holds only endpoints on this node (or of unknown node):
   * a remote endpoint never hairpins here, and leaving it out keeps an endpoint change elsewhere
   * in the cluster at one kernel write (the IPVS real server) instead of two.
   */
  nodeName?: string;
}

/** The address as the kernel prints it (compressed IPv6), or undefined when it is not an address. */
export function canonicalAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  return ipaddr.process(address).toString();
}

function familyOf(addr: ipaddr.IPv4 | ipaddr.IPv6): Family {
  return addr.kind() === 'ipv4' ? 'inet' : 'inet6';
}

/**
 * A CIDR as `ipset save` prints it: network address, prefix omitted for a single host.
 * undefined when unparsable; prefix 0 is returned as-is for the caller to handle (ipset refuses it).
 */
export function canonicalCidr(cidr: string): { family: Family; text: string; prefix: number } | undefined {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = cidr.includes('/') ? ipaddr.parseCIDR(cidr) : [ipaddr.parse(cidr), -1];
  } catch {
    return undefined;
  }
  const [addr, given] = parsed;
  const family = familyOf(addr);
  const width = family === 'inet' ? 32 : 128;
  const prefix = given < 0 ? width : given;
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${prefix}`);
  const text = prefix === width ? network.toString() : `${network.toString()}/${prefix}`;
  return { family, text, prefix };
}

function protoPort(protocol: Protocol, port: number): string {
  return `${protocol.toLowerCase()}:${port}`;
}

/** Every set of every served family, empty. The set list never depends on the services. */
export function emptySets(families: readonly Family[]): IpSetMap {
  const sets: IpSetMap = new Map();
  for (const family of families) {
    for (const role of Object.values(SetRole)) {
      const name = setName(family, role);
      sets.set(name, { name, type: SET_TYPES[role], family, entries: new Set() });
    }
  }
  return sets;
}

/** Parsed --cluster-cidr entries of one family; throws on an unparsable one. */
export function clusterCidrsOf(settings: IptablesSettings, family: Family): string[] {
  const out: string[] = [];
  for (const cidr of settings.clusterCidr) {
    const c = canonicalCidr(cidr);
    if (c === undefined) throw new InvalidIptablesSettingError('clusterCidr', cidr, 'expected CIDRs like 10.244.0.0/16');
    if (c.family === family) out.push(c.text);
  }
  return out;
}

/**
 * The contents of every set for a desired state. Pure; the result has the same set names for any
 * state, only the entries differ. When `fingerprints` is given it receives, per virtual server
 * key, a text of the entries that virtual server contributes (see virtualServerFingerprint).
 */
export function ruleDataFrom(state: DesiredState, settings: IptablesSettings, fingerprints?: Map<string, string>): IpSetMap {
  const sets = emptySets(settings.families);
  const served = new Set<Family>(settings.families);
  const add = (family: Family, role: SetRole, entry: string): void => {
    sets.get(setName(family, role))?.entries.add(entry);
  };

  for (const vip of state.addresses.values()) {
    const address = canonicalAddress(vip.address);
    if (address !== undefined && served.has(vip.family)) add(vip.family, SetRole.VIP, address);
  }
  for (const family of settings.families) {
    for (const cidr of clusterCidrsOf(settings, family)) {
      // ipset hash:net refuses prefix 0; a /0 cluster CIDR means every source is inside it, which
      // the rules express by leaving the set with a covering pair of halves.
      if (cidr.endsWith('/0')) {
        const halves = family === 'inet' ? ['0.0.0.0/1', '128.0.0.0/1'] : ['::/1', '8000::/1'];
        for (const h of halves) add(family, SetRole.CLUSTER_CIDR, h);
      } else add(family, SetRole.CLUSTER_CIDR, cidr);
    }
  }

  for (const [key, dvs] of state.virtualServers) {
    if (!fingerprints) {
      addVirtualServerEntries(dvs, settings, served, add);
      continue;
    }
    const own: string[] = [];
    addVirtualServerEntries(dvs, settings, served, (family, role, entry) => {
      own.push(`${setName(family, role)} ${entry}`);
      add(family, role, entry);
    });
    fingerprints.set(key, own.join('\n'));
  }
  return sets;
}

/**
 * The set entries one virtual server contributes, as one text: equal texts before and after a
 * change mean the change cannot alter any set (an endpoint moving on another node, a weight).
 */
export function virtualServerFingerprint(dvs: DesiredVirtualServer, settings: IptablesSettings): string {
  const own: string[] = [];
  addVirtualServerEntries(dvs, settings, new Set(settings.families), (family, role, entry) => own.push(`${setName(family, role)} ${entry}`));
  return own.join('\n');
}

function addVirtualServerEntries(
  dvs: DesiredVirtualServer,
  settings: IptablesSettings,
  served: ReadonlySet<Family>,
  add: (family: Family, role: SetRole, entry: string) => void,
): void {
  const vs = dvs.service;
  if (vs.fwmark !== undefined || !served.has(vs.family)) return;
  const address = canonicalAddress(vs.address);
  if (address === undefined) return;
  const family = vs.family;
  const target = `${address},${protoPort(vs.protocol, vs.port)}`;
  add(family, SetRole.VIP_PORT, target);
  switch (dvs.owner.kind) {
    case 'ClusterIP':
      add(family, SetRole.CLUSTER_IP, target);
      break;
    case 'NodePort':
      if (!dvs.externalLocal) add(family, SetRole.NODE_PORT, target);
      break;
    case 'ExternalIP':
    case 'LoadBalancer':
      if (!dvs.externalLocal) add(family, SetRole.EXTERNAL, target);
      break;
  }
  if (dvs.owner.kind === 'LoadBalancer' && dvs.sourceRanges.length > 0) {
    addSourceRanges(dvs.sourceRanges, family, target, add);
  }
  for (const real of dvs.reals) {
    if (real.forward !== 'masq' || real.family !== family) continue;
    if (settings.nodeName !== undefined && real.nodeName !== undefined && real.nodeName !== settings.nodeName) continue;
    const r = canonicalAddress(real.address);
    if (r !== undefined) add(family, SetRole.LOOP_BACK, `${r},${protoPort(vs.protocol, real.port)},${r}`);
  }
}

/**
 * loadBalancerSourceRanges of one load-balancer address:port. A /0 range of the family admits
 * everyone, so the address is not firewalled at all; ranges of the other family admit nobody of
 * this one, so a firewalled address with no range of its family drops every source.
 */
function addSourceRanges(ranges: readonly string[], family: Family, target: string, add: (family: Family, role: SetRole, entry: string) => void): void {
  const cidrs: string[] = [];
  let valid = 0;
  for (const range of ranges) {
    const c = canonicalCidr(range.trim());
    if (c === undefined) continue;
    valid++;
    if (c.family !== family) continue;
    if (c.prefix === 0) return;
    cidrs.push(c.text);
  }
  // Only unparsable ranges: the model should have rejected them; do not lock everyone out for it.
  if (valid === 0) return;
  add(family, SetRole.LB_FIREWALL, target);
  for (const cidr of cidrs) add(family, SetRole.LB_SOURCE_CIDR, `${target},${cidr}`);
}
