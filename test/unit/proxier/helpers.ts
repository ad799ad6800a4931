// Builders for desired state and a proxier wired to the fakes.
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import { FakeIpvs } from '../../support/fake-ipvs.js';
import type { Protocol, VirtualServer } from '../../../src/vocabulary/ipvs.js';
import type { DesiredChange, DesiredRealServer, DesiredState, DesiredVirtualServer, ServiceRef, VipAddress } from '../../../src/model/types.js';
import { FakeLinks } from '../../support/fake-links.js';
import { FakeClock } from '../../support/fake-clock.js';
import { RecordingConntrack } from '../../../src/proxier/conntrack.js';
import { Proxier } from '../../../src/proxier/proxier.js';
import { MemoryStateStore } from '../../support/memory-state-store.js';
import type { NodeSettingsApplier, ObjectError, ProxierSettings } from '../../../src/proxier/types.js';

export function vs(address: string, port: number, protocol: Protocol = 'TCP', extra: Partial<VirtualServer> = {}): VirtualServer {
  const family = address.includes(':') ? 'inet6' : 'inet';
  return { family, protocol, address, port, scheduler: 'rr', flags: 0, timeout: 0, netmask: family === 'inet' ? 32 : 128, ...extra } as VirtualServer;
}

export function real(address: string, port = 9376, weight = 1, pod?: string): DesiredRealServer {
  const family = address.includes(':') ? 'inet6' : 'inet';
  const r: DesiredRealServer = { family, address, port, forward: 'masq', weight, upperThreshold: 0, lowerThreshold: 0, terminating: false };
  if (pod) r.pod = { namespace: 'default', name: pod };
  return r;
}

export function desiredVs(service: VirtualServer, reals: DesiredRealServer[], owner: Partial<ServiceRef> = {}): DesiredVirtualServer {
  return {
    service,
    reals,
    owner: { namespace: 'default', name: 'web', portName: 'http', kind: 'ClusterIP', ...owner },
    externalLocal: false,
    sourceRanges: [],
  };
}

export function state(vss: DesiredVirtualServer[], addresses: string[]): DesiredState {
  return {
    virtualServers: new Map(vss.map((v) => [serviceKey(v.service), v])),
    addresses: new Map<string, VipAddress>(addresses.map((a) => [a, { family: a.includes(':') ? 'inet6' : 'inet', address: a }])),
  };
}

/** A change between two states: every key whose entry differs. */
export function change(prev: DesiredState, next: DesiredState): DesiredChange {
  const vsKeys = new Set<string>();
  for (const k of new Set([...prev.virtualServers.keys(), ...next.virtualServers.keys()])) {
    if (JSON.stringify(prev.virtualServers.get(k)) !== JSON.stringify(next.virtualServers.get(k))) vsKeys.add(k);
  }
  const addrKeys = new Set<string>();
  for (const a of new Set([...prev.addresses.keys(), ...next.addresses.keys()])) {
    if (prev.addresses.has(a) !== next.addresses.has(a)) addrKeys.add(a);
  }
  return { state: next, changedVirtualServers: vsKeys, changedAddresses: addrKeys, changedServices: new Set(), triggerTimes: [] };
}

export function noChange(s: DesiredState): DesiredChange {
  return { state: s, changedVirtualServers: new Set(), changedAddresses: new Set(), changedServices: new Set(), triggerTimes: [] };
}

/** Node settings already in place: reads only. */
export class SettledSysctl implements NodeSettingsApplier {
  calls = 0;
  async apply(): Promise<{ writes: number; errors: ObjectError[] }> {
    this.calls++;
    return { writes: 0, errors: [] };
  }
}

export const SETTINGS: ProxierSettings = {
  serviceCidrs: [],
  excludeCidrs: [],
  nodePortRange: { min: 30000, max: 32767 },
  gracefulTerminationTimeoutMs: 30_000,
  tcpTimeout: 0,
  tcpFinTimeout: 0,
  udpTimeout: 0,
};

export interface World {
  ipvs: FakeIpvs;
  links: FakeLinks;
  store: MemoryStateStore;
  clock: FakeClock;
  conntrack: RecordingConntrack;
  sysctl: SettledSysctl;
  settings: ProxierSettings;
  proxier(): Proxier;
  /** Kernel writes made so far by both fakes. */
  writes(): number;
}

export function world(settings: Partial<ProxierSettings> = {}): World {
  const w = {
    ipvs: new FakeIpvs(),
    links: new FakeLinks(),
    store: new MemoryStateStore(),
    clock: new FakeClock(),
    conntrack: new RecordingConntrack(),
    sysctl: new SettledSysctl(),
    settings: { ...SETTINGS, ...settings },
  };
  w.links.addLink('eth0');
  w.links.seedAddress('eth0', '192.168.1.10', 24);
  return {
    ...w,
    proxier: () =>
      new Proxier({ ipvs: w.ipvs, links: w.links, stateStore: w.store, conntrack: w.conntrack, sysctl: w.sysctl, clock: w.clock, settings: w.settings }),
    writes: () => w.ipvs.writes + w.links.writes,
  };
}

/** The seed example: one ClusterIP service, three endpoints, one VIP. */
export function seed(): DesiredState {
  return state(
    [desiredVs(vs('10.96.0.10', 80), [real('10.244.1.1', 9376, 1, 'web-1'), real('10.244.1.2', 9376, 1, 'web-2'), real('10.244.1.3', 9376, 1, 'web-3')])],
    ['10.96.0.10'],
  );
}

/** ipvsadm-like text of the fake's table, for readable assertions. */
export async function table(ipvs: FakeIpvs): Promise<string[]> {
  const out: string[] = [];
  for (const e of await ipvs.dump()) {
    out.push(`${serviceKey(e.service)} ${e.service.scheduler}`);
    for (const r of e.reals) out.push(`  -> ${r.address}:${r.port} w${r.weight}`);
  }
  return out;
}

/** "address/prefix" of every VIP on kube-ipvs0, without the kernel's IPv6 link-local address. */
export async function vipsOf(links: FakeLinks): Promise<string[]> {
  const idx = await links.linkIndex('kube-ipvs0');
  if (idx === undefined) return [];
  return (await links.listAddresses(idx)).filter((a) => !a.address.startsWith('fe80:')).map((a) => `${a.address}/${a.prefixLen}`);
}
