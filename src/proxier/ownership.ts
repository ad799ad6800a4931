// Which kernel objects are ours. The rules: a virtual server or kube-ipvs0 address is ours if the
// state record lists it, if it exactly matches the desired state, if it lies in --service-cidrs,
// or (virtual servers) if it sits on a node address with a port in the node-port range. Anything
// inside --exclude-cidrs is never touched, whatever else holds. Everything else is foreign:
// reported once, never changed or deleted. Pure: no I/O.
import ipaddr from 'ipaddr.js';
import { entryHolds, realKey, serviceKey } from '../vocabulary/ipvs-keys.js';
import type { VirtualServer, VirtualServerEntry } from '../vocabulary/ipvs.js';
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

/**
 * At start and cleanup the kernel is read with nothing known but the record: the service CIDRs
 * and NodePorts on node addresses are claimed too. Once running, only the record (what we
 * created) and exact matches are ours: a virtual server someone adds by hand inside the service
 * CIDRs is not deleted.
 */
export type AdoptionScope = 'start' | 'running';

export function adoptionContext(
  scope: AdoptionScope,
  inputs: {
    recorded: RecordedKeys;
    desired: DesiredState | undefined;
    serviceCidrs: CidrSet;
    excludeCidrs: CidrSet;
    nodePortRange: { min: number; max: number };
    /** Every address of the host as read, and kube-ipvs0's index (its addresses are not node addresses). */
    hostAddresses: readonly { address: string; ifindex: number }[];
    ifindex: number | undefined;
  },
): AdoptionContext {
  const running = scope === 'running';
  return {
    recorded: inputs.recorded,
    desired: inputs.desired,
    serviceCidrs: running ? new CidrSet([]) : inputs.serviceCidrs,
    excludeCidrs: inputs.excludeCidrs,
    nodeAddresses: running ? new Set() : new Set(inputs.hostAddresses.filter((a) => a.ifindex !== inputs.ifindex).map((a) => a.address)),
    nodePortRange: inputs.nodePortRange,
  };
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

/** Keys of the two kinds of owned kernel object, claimed or released together. */
export interface OwnedKeys {
  virtualServers?: Iterable<string>;
  addresses?: Iterable<string>;
}

/** An owned set as others see it: read-only, with the change count the record keeper compares. */
export type OwnedSetView = ReadonlySet<string> & { readonly changes: number };

/**
 * What this agent owns and what it must leave alone, kept between syncs. A key not yet seen in the
 * kernel may be claimed (created) unless it is known foreign or excluded. The sets change only
 * through claim(), release() and the adopt methods, so every change of ownership is one call.
 */
export class Ownership {
  private readonly ownedVirtualServers = new CountingSet<string>();
  private readonly ownedAddresses = new CountingSet<string>();
  private readonly foreignVs = new Set<string>();
  private readonly foreignAddr = new Set<string>();
  private readonly reported = new Set<string>();

  constructor(readonly exclude: CidrSet) {}

  get virtualServers(): OwnedSetView {
    return this.ownedVirtualServers;
  }

  get addresses(): OwnedSetView {
    return this.ownedAddresses;
  }

  get foreignVirtualServers(): ReadonlySet<string> {
    return this.foreignVs;
  }

  get foreignAddresses(): ReadonlySet<string> {
    return this.foreignAddr;
  }

  /** These keys are ours from now on (about to be created, or adopted). */
  claim(keys: OwnedKeys): void {
    for (const k of keys.virtualServers ?? []) this.ownedVirtualServers.add(k);
    for (const a of keys.addresses ?? []) this.ownedAddresses.add(a);
  }

  /** These keys are ours no longer (deleted, or a claim that could not be recorded). */
  release(keys: OwnedKeys): void {
    for (const k of keys.virtualServers ?? []) this.ownedVirtualServers.delete(k);
    for (const a of keys.addresses ?? []) this.ownedAddresses.delete(a);
  }

  /** After a read of the kernel: exactly these virtual servers are ours, these foreign. */
  adoptVirtualServers(owned: Iterable<string>, foreign: Iterable<string>): void {
    this.ownedVirtualServers.clear();
    this.foreignVs.clear();
    for (const k of owned) this.ownedVirtualServers.add(k);
    for (const k of foreign) this.foreignVs.add(k);
  }

  /** After a read of kube-ipvs0: exactly these addresses are ours, these foreign. */
  adoptAddresses(owned: Iterable<string>, foreign: Iterable<string>): void {
    this.ownedAddresses.clear();
    this.foreignAddr.clear();
    for (const a of owned) this.ownedAddresses.add(a);
    for (const a of foreign) this.foreignAddr.add(a);
  }

  /** May the proxier create, change or delete this virtual server? */
  mayTouchService(key: string, s: Pick<VirtualServer, 'address'>): boolean {
    return !this.foreignVs.has(key) && !isExcludedService(s, this.exclude);
  }

  mayTouchAddress(address: string): boolean {
    return !this.foreignAddr.has(address) && !this.exclude.contains(address);
  }

  /** True the first time an object is reported, so each foreign object is reported once. */
  firstReport(kind: string, key: string): boolean {
    const id = `${kind} ${key}`;
    if (this.reported.has(id)) return false;
    this.reported.add(id);
    return true;
  }
}
