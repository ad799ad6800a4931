// Desired states for the iptables tests, built the way the model builds them.
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import type { Family, Protocol } from '../../../src/vocabulary/ipvs.js';
import type { DesiredRealServer, DesiredState, DesiredVirtualServer, ServiceRef, VipAddress } from '../../../src/model/types.js';
import type { IptablesSettings } from '../../../src/proxier/iptables-policy/sets.js';

export const SETTINGS: IptablesSettings = { masqueradeAll: false, clusterCidr: [], masqueradeBit: 14, families: ['inet'] };

export function real(address: string, port: number, family: Family = 'inet'): DesiredRealServer {
  return { family, address, port, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, terminating: false };
}

export interface VsInput {
  kind: ServiceRef['kind'];
  address: string;
  port: number;
  protocol?: Protocol;
  family?: Family;
  reals?: DesiredRealServer[];
  externalLocal?: boolean;
  sourceRanges?: string[];
  name?: string;
}

export function vs(i: VsInput): DesiredVirtualServer {
  const family = i.family ?? (i.address.includes(':') ? 'inet6' : 'inet');
  return {
    service: { family, protocol: i.protocol ?? 'TCP', address: i.address, port: i.port, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
    reals: i.reals ?? [],
    owner: { namespace: 'default', name: i.name ?? 'svc', portName: '', kind: i.kind },
    externalLocal: i.externalLocal ?? false,
    sourceRanges: i.sourceRanges ?? [],
  };
}

/** A state with the given virtual servers; kube-ipvs0 holds every non-NodePort address. */
export function stateOf(list: DesiredVirtualServer[]): DesiredState {
  const virtualServers = new Map<string, DesiredVirtualServer>();
  const addresses = new Map<string, VipAddress>();
  for (const d of list) {
    virtualServers.set(serviceKey(d.service), d);
    if (d.owner.kind !== 'NodePort' && d.service.address !== undefined) {
      addresses.set(d.service.address, { family: d.service.family, address: d.service.address });
    }
  }
  return { virtualServers, addresses };
}

/**
 * n services, each with a ClusterIP, a node port on 192.168.0.10, an external IP and a load
 * balancer IP with source ranges, two endpoints each.
 */
export function manyServices(n: number): DesiredState {
  const list: DesiredVirtualServer[] = [];
  for (let i = 0; i < n; i++) {
    const hi = Math.floor(i / 250);
    const lo = (i % 250) + 1;
    const reals = [real(`10.244.${hi}.${lo}`, 8080), real(`10.245.${hi}.${lo}`, 8080)];
    list.push(vs({ kind: 'ClusterIP', address: `10.96.${hi}.${lo}`, port: 80, reals, name: `s${i}` }));
    list.push(vs({ kind: 'NodePort', address: '192.168.0.10', port: 30000 + i, reals, name: `s${i}` }));
    list.push(vs({ kind: 'ExternalIP', address: `172.16.${hi}.${lo}`, port: 80, reals, name: `s${i}`, externalLocal: i % 2 === 0 }));
    list.push(vs({ kind: 'LoadBalancer', address: `172.17.${hi}.${lo}`, port: 443, reals, name: `s${i}`, sourceRanges: ['203.0.113.0/24'] }));
  }
  return stateOf(list);
}
