// Pieces of text that several ipvsadm views share: the service column, the real server column,
// the scheduler flags and the forwarding method, each spelled exactly as ipvsadm 1.31 spells it.
import { addressPortText, prefixToDottedMask } from './address.js';
import { SvcFlag, type ForwardMethod, type RealServer, type VirtualServer } from '../vocabulary/ipvs.js';

const SCHED_FLAGS = SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3;

export function hasSchedulerFlags(s: VirtualServer): boolean {
  return (s.flags & SCHED_FLAGS) !== 0;
}

/** "sh-fallback,sh-port", "mh-port", "flag-1,flag-3"; empty when none applies to the scheduler. */
export function schedulerFlagNames(s: VirtualServer): string {
  const names: string[] = [];
  if (s.scheduler === 'sh' || s.scheduler === 'mh') {
    // sh and mh give SCHED1 and SCHED2 a meaning and ignore SCHED3 (printed as nothing).
    if (s.flags & SvcFlag.SCHED1) names.push(`${s.scheduler}-fallback`);
    if (s.flags & SvcFlag.SCHED2) names.push(`${s.scheduler}-port`);
  } else {
    if (s.flags & SvcFlag.SCHED1) names.push('flag-1');
    if (s.flags & SvcFlag.SCHED2) names.push('flag-2');
    if (s.flags & SvcFlag.SCHED3) names.push('flag-3');
  }
  return names.join(',');
}

export function isPersistent(s: VirtualServer): boolean {
  return (s.flags & SvcFlag.PERSISTENT) !== 0;
}

export function isOnePacket(s: VirtualServer): boolean {
  return (s.flags & SvcFlag.ONEPACKET) !== 0;
}

/** The persistence netmask text, or undefined when it is the full-length default. */
export function netmaskText(s: VirtualServer): string | undefined {
  if (s.family === 'inet') return s.netmask === 32 ? undefined : prefixToDottedMask(s.netmask);
  return s.netmask === 128 ? undefined : String(s.netmask);
}

/** "TCP  10.0.0.1:80", "FWM  77", "FWM  78 IPv6": the first column (the mark is printed with %d). */
export function serviceColumn(s: VirtualServer): string {
  if (s.fwmark !== undefined) return s.family === 'inet6' ? `FWM  ${s.fwmark | 0} IPv6` : `FWM  ${s.fwmark | 0}`;
  const text = `${s.protocol.padEnd(4, ' ')} ${addressPortText(s.family, s.address, s.port)}`;
  // ipvsadm cuts an IPv4 service name at 33 characters (never reached by real addresses).
  return s.family === 'inet6' ? text : text.slice(0, 33);
}

/** "10.244.0.2:9376" or "[fd00::2]:9376"; an IPv4 name is cut at 28 characters like ipvsadm's. */
export function realColumn(r: Pick<RealServer, 'family' | 'address' | 'port'>): string {
  const text = addressPortText(r.family, r.address, r.port);
  return r.family === 'inet6' ? text : text.slice(0, 28);
}

const FORWARD_NAMES: Record<ForwardMethod, string> = {
  masq: 'Masq',
  local: 'Local',
  tunnel: 'Tunnel',
  route: 'Route',
};

export function forwardName(f: ForwardMethod): string {
  return FORWARD_NAMES[f];
}

const FORWARD_SWITCHES: Record<ForwardMethod, string> = {
  masq: '-m',
  tunnel: '-i',
  local: '-g',
  route: '-g',
};

/** The ipvsadm option that selects the method: local and route are both -g. */
export function forwardSwitch(f: ForwardMethod): string {
  return FORWARD_SWITCHES[f];
}

/** IP_VS_CONN_F_TUNNEL_TYPE_* names, indexed by the kernel's number. */
export const TUNNEL_TYPE_NAMES: readonly string[] = ['ipip', 'gue', 'gre'];
/** Tunnel checksum modes as --tun-info prints them, indexed by the kernel's flag value. */
export const TUNNEL_FLAG_NAMES: readonly string[] = ['-c', '+c', 'r+c'];
/** Tunnel checksum modes as -S prints them. */
export const TUNNEL_FLAG_OPTIONS: readonly string[] = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'];
