// Identity keys and comparisons for virtual and real servers. Keys are strings so they can
// index Maps; two objects with the same key are the same kernel object.
import { SvcFlag, type RealServer, type VirtualServer, type VirtualServerEntry, type VirtualServerKey } from './ipvs.js';

/** "TCP/10.0.1.175/80", "UDP/fd00::1/53" or "FWM/inet/77". */
export function serviceKey(s: VirtualServerKey): string {
  if (s.fwmark !== undefined) return `FWM/${s.family}/${s.fwmark}`;
  return `${s.protocol}/${s.address}/${s.port}`;
}

/** "10.244.1.7/9376" or "fd00::7/9376". */
export function realKey(r: Pick<RealServer, 'address' | 'port'>): string {
  return `${r.address}/${r.port}`;
}

/** Only the identity of a virtual server, as the kernel needs it to address one. */
export function keyOf(s: VirtualServerKey): VirtualServerKey {
  return s.fwmark !== undefined ? { family: s.family, fwmark: s.fwmark } : { family: s.family, protocol: s.protocol, address: s.address, port: s.port };
}

/** Equal settings, ignoring the HASHED flag that the kernel adds on its own. */
export function sameServiceSettings(a: VirtualServer, b: VirtualServer): boolean {
  const mask = ~SvcFlag.HASHED;
  return (
    a.scheduler === b.scheduler &&
    (a.flags & mask) === (b.flags & mask) &&
    a.timeout === b.timeout &&
    // The netmask only matters for persistent services; the kernel reports a default otherwise.
    (a.timeout === 0 || a.netmask === b.netmask) &&
    (a.peName ?? '') === (b.peName ?? '')
  );
}

/** Equal settings of a real server (address and port are its identity, compared by key). */
export function sameRealSettings(a: RealServer, b: RealServer): boolean {
  return a.forward === b.forward && a.weight === b.weight && a.upperThreshold === b.upperThreshold && a.lowerThreshold === b.lowerThreshold;
}

/**
 * A virtual server as read from the kernel holds these settings and exactly these real servers
 * (by realKey()) with theirs: the one comparison behind adoption by exact match and the
 * background check.
 */
export function entryHolds(entry: VirtualServerEntry, service: VirtualServer, reals: ReadonlyMap<string, RealServer>): boolean {
  if (!sameServiceSettings(entry.service, service) || entry.reals.length !== reals.size) return false;
  for (const r of entry.reals) {
    const want = reals.get(realKey(r));
    if (want === undefined || !sameRealSettings(r, want)) return false;
  }
  return true;
}
