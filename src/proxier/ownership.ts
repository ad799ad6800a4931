// Which kernel objects are ours. The rules: a virtual server or kube-ipvs0 address is ours if the
// state record lists it, if it exactly matches the desired state, if it lies in --service-cidrs,
// or (virtual servers) if it sits on a node address with a port in the node-port range. Anything
// inside --exclude-cidrs is never touched, whatever else holds. Everything else is foreign:
// reported once, never changed or deleted. Pure: no I/O.
import ipaddr from 'ipaddr.js';
import { entryHolds, realKey, serviceKey } from '../ipvs/keys.js';
import type { VirtualServer, VirtualServerEntry } from '../ipvs/types.js';
import type { DesiredState, DesiredVirtualServer } from '../model/types.js';
import type { StateRecord } from './state-record.js';

export type Verdict = 'owned' | 'foreign' | 'excluded';

/** A list of CIDRs that answers "does it contain this address". */
export class CidrSet {
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => ipaddr.parseCIDR(c));
  }

  private readonly memo = new Map<string, boolean>();

  contains(address: string): boolean {
    if (this.ranges.length === 0) return false;
    let hit = this.memo.get(address);
    if (hit === undefined) {
      hit = false;
      if (ipaddr.isValid(address)) {
        const a = ipaddr.parse(address);
        hit = this.ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
      }
      // Addresses repeat across passes; bounded so churn of VIPs cannot grow it without end.
      if (this.memo.size > 100_000) this.memo.clear();
      this.memo.set(address, hit);
    }
    return hit;
  }

  get empty(): boolean {
    return this.ranges.length === 0;
  }
}

/** The keys a state record lists, as sets: adoption asks about each of 10,000 objects. */
export interface RecordedKeys {
  virtualServers: ReadonlySet<string>;
  addresses: ReadonlySet<string>;
}

export function recordedKeys(record: StateRecord | undefined): RecordedKeys {
  return { virtualServers: new Set(Object.keys(record?.virtualServers ?? {})), addresses: new Set(record?.addresses ?? []) };
}

export interface AdoptionContext {
  /** What the state record lists (a lookup per kernel object; the record's address array made that quadratic). */
  recorded: RecordedKeys;
  desired: DesiredState | undefined;
  serviceCidrs: CidrSet;
  excludeCidrs: CidrSet;
  /** Addresses on the node's interfaces other than kube-ipvs0. */
  nodeAddresses: ReadonlySet<string>;
  nodePortRange: { min: number; max: number };
}

/** True when the kernel entry is exactly what the desired state asks for: settings and real servers. */
export function matchesDesired(entry: VirtualServerEntry, want: DesiredVirtualServer | undefined): boolean {
  return want !== undefined && entryHolds(entry, want.service, new Map(want.reals.map((r) => [realKey(r), r])));
}

export function isExcludedService(s: Pick<VirtualServer, 'address'>, exclude: CidrSet): boolean {
  return s.address !== undefined && exclude.contains(s.address);
}

export function classifyVirtualServer(entry: VirtualServerEntry, ctx: AdoptionContext): Verdict {
  const s = entry.service;
  if (isExcludedService(s, ctx.excludeCidrs)) return 'excluded';
  const key = serviceKey(s);
  if (ctx.recorded.virtualServers.has(key)) return 'owned';
  if (matchesDesired(entry, ctx.desired?.virtualServers.get(key))) return 'owned';
  if (s.address === undefined) return 'foreign';
  if (ctx.serviceCidrs.contains(s.address)) return 'owned';
  if (ctx.nodeAddresses.has(s.address) && s.port >= ctx.nodePortRange.min && s.port <= ctx.nodePortRange.max) return 'owned';
  return 'foreign';
}

/** For addresses found on kube-ipvs0. */
export function classifyAddress(address: string, ctx: AdoptionContext): Verdict {
  if (ctx.excludeCidrs.contains(address)) return 'excluded';
  if (ctx.recorded.addresses.has(address)) return 'owned';
  if (ctx.desired?.addresses.has(address)) return 'owned';
  if (ctx.serviceCidrs.contains(address)) return 'owned';
  return 'foreign';
}

/**
 * A Set that counts its changes, so "has it changed since I last looked" costs a comparison of two
 * numbers instead of one of 10,000 keys after every endpoint change.
 */
export class CountingSet<T> extends Set<T> {
  private count = 0;

  /** Grows with every add of a new member, delete of a member, and clear of a non-empty set. */
  get changes(): number {
    return this.count;
  }

  override add(value: T): this {
    if (!this.has(value)) this.count++;
    return super.add(value);
  }

  override delete(value: T): boolean {
    const deleted = super.delete(value);
    if (deleted) this.count++;
    return deleted;
  }

  override clear(): void {
    if (this.size > 0) this.count++;
    super.clear();
  }
}

/**
 * What this agent owns and what it must leave alone, kept between syncs. A key not yet seen in the
 * kernel may be claimed (created) unless it is known foreign or excluded.
 */
export class Ownership {
  readonly virtualServers = new CountingSet<string>();
  readonly addresses = new CountingSet<string>();
  readonly foreignVirtualServers = new Set<string>();
  readonly foreignAddresses = new Set<string>();
  private readonly reported = new Set<string>();

  constructor(readonly exclude: CidrSet) {}

  /** May the proxier create, change or delete this virtual server? */
  mayTouchService(key: string, s: Pick<VirtualServer, 'address'>): boolean {
    return !this.foreignVirtualServers.has(key) && !isExcludedService(s, this.exclude);
  }

  mayTouchAddress(address: string): boolean {
    return !this.foreignAddresses.has(address) && !this.exclude.contains(address);
  }

  /** True the first time an object is reported, so each foreign object is reported once. */
  firstReport(kind: string, key: string): boolean {
    const id = `${kind} ${key}`;
    if (this.reported.has(id)) return false;
    this.reported.add(id);
    return true;
  }
}
