// What the agent recorded about the virtual servers it programmed, and how kernel objects are
// matched against it. Addresses are compared in canonical form, so "fd00:0::1" in a record and
// "fd00::1" from the kernel are the same. ipvsadm (not the kernel) replaces the port of a Route
// or Tunnel real server with the virtual server's, so a table edited by hand lists such a real
// server on the service port: it is matched on its address when the port no longer agrees.
import ipaddr from 'ipaddr.js';
import { realKey, serviceKey } from '../vocabulary/ipvs-keys.js';
import type { ForwardMethod, RealServer, VirtualServerKey } from '../vocabulary/ipvs.js';
import type { DesiredState, ServiceRef } from '../model/types.js';

export interface OwnedRealServer {
  pod?: { namespace: string; name: string };
  nodeName?: string;
}

export interface OwnedVirtualServer {
  owner: ServiceRef;
  /** By realKey() of the real server as programmed. */
  reals: ReadonlyMap<string, OwnedRealServer>;
}

/** The agent's state record, reduced to what the status views need. */
export interface OwnershipRecord {
  /** By serviceKey() of the virtual server. */
  virtualServers: ReadonlyMap<string, OwnedVirtualServer>;
  /** How long ago the agent wrote the record, when the record says (older agents' records do not). */
  recordAgeMs?: number;
}

/** The record a desired state implies (every desired virtual server is one the agent owns). */
export function ownershipFromDesired(state: DesiredState): OwnershipRecord {
  const virtualServers = new Map<string, OwnedVirtualServer>();
  for (const [key, vs] of state.virtualServers) {
    const reals = new Map<string, OwnedRealServer>();
    for (const r of vs.reals) reals.set(realKey(r), { pod: r.pod, nodeName: r.nodeName });
    virtualServers.set(key, { owner: vs.owner, reals });
  }
  return { virtualServers };
}

/** The address in one spelling, whatever spelling it came in; unparsable text is kept. */
/** A dotted quad already in canonical form (no leading zeros, each part at most 255). */
const CANONICAL_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function canonicalAddress(address: string): string {
  // The common case answered without parsing: at 10,000 x 10 the status diff canonicalises some
  // 250,000 addresses, and parsing each made up most of its 2 s.
  if (CANONICAL_IPV4.test(address)) return address;
  return ipaddr.isValid(address) ? ipaddr.parse(address).toString() : address;
}

export function canonicalServiceKey(s: VirtualServerKey): string {
  return s.fwmark !== undefined ? serviceKey(s) : serviceKey({ ...s, address: canonicalAddress(s.address) });
}

export function canonicalRealKey(r: Pick<RealServer, 'address' | 'port'>): string {
  return realKey({ address: canonicalAddress(r.address), port: r.port });
}

/** Re-keys a map filed by serviceKey()/realKey() strings to canonical keys. */
function canonicalKeyOf(key: string): string {
  const fields = key.split('/');
  if (fields.length === 3 && fields[0] !== 'FWM') return `${fields[0]}/${canonicalAddress(fields[1])}/${fields[2]}`;
  if (fields.length === 2) return `${canonicalAddress(fields[0])}/${fields[1]}`;
  return key;
}

export function canonicalMap<V>(map: ReadonlyMap<string, V>): Map<string, V> {
  const out = new Map<string, V>();
  for (const [k, v] of map) out.set(canonicalKeyOf(k), v);
  return out;
}

/** Methods for which ipvsadm -a/-e puts the real server on the virtual server's port. */
export function portIsRewritten(forward: ForwardMethod): boolean {
  return forward !== 'masq';
}

/**
 * Finds the entry for a real server seen in the kernel: by address and port, or, when ipvsadm
 * rewrote the port (a non-NAT method listed on the virtual server's port), by address alone as
 * long as exactly one entry has that address.
 */
export function lookupReal<V>(
  byCanonicalKey: ReadonlyMap<string, V>,
  real: Pick<RealServer, 'address' | 'port' | 'forward'>,
  servicePort: number,
): { key: string; value: V } | undefined {
  const key = canonicalRealKey(real);
  const exact = byCanonicalKey.get(key);
  if (exact !== undefined) return { key, value: exact };
  if (!portIsRewritten(real.forward) || real.port !== servicePort) return undefined;
  const prefix = `${canonicalAddress(real.address)}/`;
  const candidates = [...byCanonicalKey].filter(([k]) => k.startsWith(prefix));
  return candidates.length === 1 ? { key: candidates[0][0], value: candidates[0][1] } : undefined;
}

/** "default/kubernetes:https" (the port name, or the port number when the port has none). */
export function ownerText(owner: ServiceRef, port: number | undefined): string {
  const portText = owner.portName !== '' ? owner.portName : port !== undefined ? String(port) : '';
  return portText === '' ? `${owner.namespace}/${owner.name}` : `${owner.namespace}/${owner.name}:${portText}`;
}
