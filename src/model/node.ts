// Node-wide inputs: this node's topology zone, whether it is going away, and which local
// addresses carry NodePort virtual servers.
import type { V1Node } from '@kubernetes/client-node';
import type { LinkAddress } from '../vocabulary/addresses.js';
import type { VipAddress, ModelWarning } from './types.js';
import type { ResolvedConfig } from './config.js';
import { cidrContains, isLinkLocal6, isLoopback, parseIp, type ParsedIp } from './ip.js';
import { warningOn } from './objects.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface NodeInfo {
  /** '' when the node has no zone label (topology hints are then never used). */
  zone: string;
  /** False when the Node is being deleted or tainted for removal by the cluster autoscaler. */
  eligible: boolean;
  /** First InternalIP per family, else first ExternalIP: the node's "primary" addresses. */
  primary: ParsedIp[];
}

export const UNKNOWN_NODE: NodeInfo = { zone: '', eligible: true, primary: [] };

export function nodeInfoOf(node: V1Node | undefined): NodeInfo {
  if (!node) return UNKNOWN_NODE;
  const labels = node.metadata?.labels ?? {};
  const zone = typeof labels[ZONE_LABEL] === 'string' ? labels[ZONE_LABEL] : '';
  const taints = Array.isArray(node.spec?.taints) ? node.spec.taints : [];
  const deleting = node.metadata?.deletionTimestamp !== undefined && node.metadata?.deletionTimestamp !== null;
  const eligible = !deleting && !taints.some((t) => t?.key === TO_BE_DELETED_TAINT);
  const addresses = Array.isArray(node.status?.addresses) ? node.status.addresses : [];
  const primary: ParsedIp[] = [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    for (const a of addresses) {
      if (a?.type !== type) continue;
      const ip = parseIp(a.address);
      if (ip && !primary.some((p) => p.family === ip.family)) primary.push(ip);
    }
  }
  return { zone, eligible, primary };
}

/**
 * Whether a local address is a node address by default (no --nodeport-addresses, or a /0 of its
 * family): not loopback and not IPv6 link-local, as kube-proxy's node address list
 * (isValidForSet). Every pod veth carries an fe80:: address; a NodePort there is reachable by no
 * one else and would add a virtual server per pod.
 */
export function isDefaultNodeAddress(ip: ParsedIp): boolean {
  return !isLoopback(ip) && !isLinkLocal6(ip);
}

/**
 * The addresses NodePort virtual servers listen on, sorted and de-duplicated. Addresses on the
 * dummy link are excluded by address, not only by link: a VIP that also appears on another
 * interface is still a VIP (kube-proxy does the same).
 */
export function selectNodePortAddresses(
  config: ResolvedConfig,
  links: readonly LinkAddress[],
  node: NodeInfo,
  nodeName: string,
): { addresses: VipAddress[]; warnings: ModelWarning[] } {
  const warnings: ModelWarning[] = [];
  const onDummy = new Set<string>();
  const local: ParsedIp[] = [];
  for (const l of links) {
    const ip = parseIp(l.address);
    if (!ip || !config.families.has(ip.family)) continue;
    if (l.ifname === config.dummyLinkName) onDummy.add(ip.address);
    else local.push(ip);
  }
  const chosen = new Map<string, VipAddress>();
  const take = (ip: ParsedIp): void => {
    if (config.families.has(ip.family) && !onDummy.has(ip.address)) chosen.set(ip.address, { family: ip.family, address: ip.address });
  };
  const sel = config.nodePorts;
  if (sel.mode === 'all') {
    for (const ip of local) if (isDefaultNodeAddress(ip)) take(ip);
  } else {
    for (const ip of local) {
      // A /0 means "every address of the family", as kube-proxy's MatchAll: the default set.
      const all = sel.cidrs.some((c) => c.prefixLen === 0 && c.family === ip.family);
      if (all ? isDefaultNodeAddress(ip) : sel.cidrs.some((c) => cidrContains(c, ip))) take(ip);
    }
    if (sel.primary) {
      for (const ip of node.primary) take(ip);
      if (node.primary.length === 0) {
        warnings.push(
          warningOn(
            { kind: 'Node', namespace: '', name: nodeName },
            'status.addresses',
            'nodePortAddresses "primary": the node has no InternalIP or ExternalIP known yet; no NodePort listens on a primary address',
          ),
        );
      }
    }
  }
  const addresses = [...chosen.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { addresses, warnings };
}

/**
 * Addresses on links other than the dummy one. An externalIP or load-balancer IP among them is
 * already the node's: it gets its virtual server but is not bound to the dummy link again.
 */
export function addressesOnOtherLinks(config: ResolvedConfig, links: readonly LinkAddress[]): Set<string> {
  const out = new Set<string>();
  for (const l of links) {
    if (l.ifname === config.dummyLinkName) continue;
    const ip = parseIp(l.address);
    if (ip) out.add(ip.address);
  }
  return out;
}

export function sameAddressList(a: readonly VipAddress[], b: readonly VipAddress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.address === b[i].address && x.family === b[i].family);
}
