// Small builders for status tests: kernel-shaped entries with sensible defaults.
import { UNREAD_STATS, type IpvsStats, type RealServerStatus, type VirtualServerEntry, type VirtualServerStatus } from '../../../src/vocabulary/ipvs.js';

export function stats(overrides: Partial<IpvsStats> = {}): IpvsStats {
  return { ...UNREAD_STATS, ...overrides };
}

type ServiceInput = Partial<Omit<VirtualServerStatus, 'family' | 'protocol' | 'address' | 'port' | 'fwmark'>>;

export function tcp(address: string, port: number, more: ServiceInput = {}): VirtualServerStatus {
  return proto('TCP', address, port, more);
}

export function proto(protocol: 'TCP' | 'UDP' | 'SCTP', address: string, port: number, more: ServiceInput = {}): VirtualServerStatus {
  const family = address.includes(':') ? 'inet6' : 'inet';
  return {
    family,
    protocol,
    address,
    port,
    scheduler: 'rr',
    flags: 0,
    timeout: 0,
    netmask: family === 'inet' ? 32 : 128,
    stats: stats(),
    ...more,
  };
}

export function fwmark(mark: number, family: 'inet' | 'inet6' = 'inet', more: ServiceInput = {}): VirtualServerStatus {
  return {
    family,
    fwmark: mark,
    scheduler: 'rr',
    flags: 0,
    timeout: 0,
    netmask: family === 'inet' ? 32 : 128,
    stats: stats(),
    ...more,
  };
}

export function real(address: string, port: number, more: Partial<Omit<RealServerStatus, 'address' | 'port'>> = {}): RealServerStatus {
  return {
    family: address.includes(':') ? 'inet6' : 'inet',
    address,
    port,
    forward: 'masq',
    weight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
    activeConns: 0,
    inactiveConns: 0,
    persistConns: 0,
    stats: stats(),
    ...more,
  };
}

export function entry(service: VirtualServerStatus, reals: RealServerStatus[] = []): VirtualServerEntry {
  return { service, reals };
}
