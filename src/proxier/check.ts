// The periodic verification's comparison, done without holding the sync runner: a kernel read
// taken while syncs go on is compared, a slice at a time, with what the proxier believes it
// programmed. Keys that a pass touched after the read began are skipped: the read may show them
// before or after that pass's writes, and the pass's own acknowledgements are newer than the
// read. Only a difference elsewhere (a real server deleted with ipvsadm, an address removed by
// hand, a new virtual server) is drift, and drift is repaired by a full verification.
import { entryHolds, serviceKey } from '../vocabulary/ipvs-keys.js';
import { nextTurn, TimeSlices } from '../ipvs/time-slices.js';
import type { VirtualServerEntry } from '../vocabulary/ipvs.js';
import type { LinkAddress, LocalRoute } from '../vocabulary/addresses.js';
import type { AppliedTable } from './diff.js';
import { isLinkLocal } from './vips.js';

/** What passes touched since a background read began (keys the comparison must skip). */
export class TouchedKeys {
  readonly virtualServers = new Set<string>();
  readonly addresses = new Set<string>();
  /** A full pass (start, verification) ran meanwhile: the whole comparison is moot. */
  all = false;

  touch(virtualServers: Iterable<string> | undefined, addresses: Iterable<string> | undefined): void {
    if (virtualServers === undefined || addresses === undefined) this.all = true;
    for (const k of virtualServers ?? []) this.virtualServers.add(k);
    for (const a of addresses ?? []) this.addresses.add(a);
  }
}

export interface KernelReading {
  entries: readonly VirtualServerEntry[];
  addresses: readonly LinkAddress[];
  /** kube-ipvs0's local routes (table local) at the time of the read. */
  routes?: readonly LocalRoute[];
  /** kube-ipvs0's index at the time of the read; undefined when the link was missing. */
  ifindex: number | undefined;
}

/** What the proxier believes the kernel holds (read-only views of its own tables). */
export interface BelievedState {
  applied: AppliedTable;
  ownedVirtualServers: ReadonlySet<string>;
  foreignVirtualServers: ReadonlySet<string>;
  link: {
    ifindex: number | undefined;
    applied: ReadonlyMap<string, unknown>;
    /** Owned VIPs with the agent's local route (absent: compare addresses only). */
    routed?: ReadonlySet<string>;
    /** Owned VIPs bound as addresses (undefined while mode both's fill changes them). */
    bound?: ReadonlySet<string>;
    onOtherLinks: ReadonlySet<string>;
    foreign: ReadonlySet<string>;
  };
}

/**
 * The first drift between the reading and the believed state, as a sentence, or undefined when
 * there is none. Compares for about `sliceMs` at a time and turns the event loop between, so
 * syncs run meanwhile; `touched` is consulted at each comparison, since those syncs add to it.
 */
export async function findDrift(reading: KernelReading, believed: BelievedState, touched: TouchedKeys, sliceMs = 5): Promise<string | undefined> {
  const seen = new Set<string>();
  const slices = new TimeSlices(sliceMs);
  let n = 0;
  for (const entry of reading.entries) {
    if (++n % 16 === 0 && slices.due()) await slices.turn();
    if (touched.all) return undefined;
    const key = serviceKey(entry.service);
    seen.add(key);
    if (touched.virtualServers.has(key) || believed.foreignVirtualServers.has(key)) continue;
    if (!believed.ownedVirtualServers.has(key)) return `virtual server ${key} appeared`;
    const have = believed.applied.get(key);
    if (have === undefined) return `virtual server ${key} is in the kernel but was not programmed`;
    if (!entryHolds(entry, have.service, have.reals)) return `virtual server ${key} differs from what was programmed`;
  }
  await nextTurn();
  if (touched.all) return undefined;
  for (const key of believed.applied.keys()) {
    if (!seen.has(key) && !touched.virtualServers.has(key)) return `virtual server ${key} is missing`;
  }
  // A foreign virtual server that went away may free a key the desired state wants.
  for (const key of believed.foreignVirtualServers) {
    if (!seen.has(key) && !touched.virtualServers.has(key)) return `foreign virtual server ${key} is gone`;
  }
  return addressDrift(reading, believed.link, touched);
}

function addressDrift(reading: KernelReading, link: BelievedState['link'], touched: TouchedKeys): string | undefined {
  if (reading.ifindex !== link.ifindex) return 'kube-ipvs0 was created, replaced or deleted';
  const onLink = new Set<string>();
  const elsewhere = new Set<string>();
  for (const a of reading.addresses) {
    if (reading.ifindex === undefined || a.ifindex !== reading.ifindex) elsewhere.add(a.address);
    else if (!isLinkLocal(a.address)) onLink.add(a.address);
  }
  const ourRoutes = new Set<string>();
  for (const r of reading.routes ?? []) if (r.ours && r.ifindex === reading.ifindex) ourRoutes.add(r.address);
  for (const a of onLink) {
    if (touched.addresses.has(a) || link.applied.has(a) || link.foreign.has(a)) continue;
    return `address ${a} appeared on kube-ipvs0`;
  }
  for (const a of ourRoutes) {
    if (touched.addresses.has(a) || link.applied.has(a) || link.foreign.has(a)) continue;
    return `local route ${a} appeared on kube-ipvs0`;
  }
  // Without the routed/bound detail (older callers), a VIP is local by an address.
  const routed = link.routed ?? new Set<string>();
  for (const a of link.applied.keys()) {
    if (touched.addresses.has(a)) continue;
    if (routed.has(a) && !ourRoutes.has(a)) return `local route ${a} is missing from kube-ipvs0`;
    const wantAddress = link.routed === undefined ? true : link.bound?.has(a);
    if (wantAddress === true && !onLink.has(a)) return `address ${a} is missing from kube-ipvs0`;
    if (wantAddress === undefined && !onLink.has(a) && !ourRoutes.has(a)) return `${a} is no longer local on kube-ipvs0`;
  }
  // Node addresses decide which external IPs may be bound here (never one another link holds).
  if (elsewhere.size !== link.onOtherLinks.size || [...elsewhere].some((a) => !link.onOtherLinks.has(a))) {
    return 'addresses on the other links changed';
  }
  return undefined;
}
