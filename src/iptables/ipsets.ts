// The agent's ipsets as plain data, and the names that make a set the agent's own: what the ipset
// client and the save parser read and write. Which sets exist and what they hold is decided by
// the iptables policy (src/proxier/iptables-policy/sets.ts).
import type { Family } from '../vocabulary/ipvs.js';

export type IpSetType = 'hash:ip' | 'hash:net' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net';

/** Every set of this project's is named with its family's prefix (the rest of the name is its role). */
export const SET_PREFIX: Readonly<Record<Family, string>> = { inet: 'IPVS-PROXY-', inet6: 'IPVS-PROXY6-' };

/** The name prefixes of the sets this project creates. */
export const OWN_SET_PREFIXES: readonly string[] = [SET_PREFIX.inet, SET_PREFIX.inet6];

/** True for a set name this project creates (of either family). */
export function isOwnSetName(name: string): boolean {
  return OWN_SET_PREFIXES.some((p) => name.startsWith(p));
}

/** A set and its entries, entries written exactly as `ipset save` prints them. */
export interface IpSetContent {
  name: string;
  type: IpSetType;
  family: Family;
  entries: Set<string>;
}

/** Sets by name. */
export type IpSetMap = Map<string, IpSetContent>;

/** Entries to add to or delete from one set, written as `ipset save` prints them. */
export interface SetEntryGroup {
  op: 'add' | 'delete';
  set: string;
  family: Family;
  type: IpSetType;
  entries: string[];
}
