// Adoption: one read of the kernel (IPVS dump, kube-ipvs0's addresses and routes) rebuilds the
// applied table, the link's view and the ownership sets. Which object is ours is decided by the
// pure classifiers in ownership.ts; this module only carries their verdicts into the tables.
import { serviceKey } from '../vocabulary/ipvs-keys.js';
import type { VirtualServerEntry } from '../vocabulary/ipvs.js';
import type { LinkAddress, LocalRoute } from '../vocabulary/addresses.js';
import { appliedFromEntry } from './apply.js';
import type { AppliedTable } from './diff.js';
import { classifyAddress, classifyVirtualServer, type AdoptionContext, type Ownership, type Verdict } from './ownership.js';
import type { ForeignObject } from './types.js';
import type { VipLink } from './vips.js';

/** One read of the kernel, as start(), verify() and cleanup() take it. */
export interface KernelRead {
  entries: readonly VirtualServerEntry[];
  addresses: readonly LinkAddress[];
  routes: readonly LocalRoute[];
  ifindex: number | undefined;
}

/** A kernel object that is not ours, with why. */
export interface NotOwned {
  kind: ForeignObject['kind'];
  key: string;
  verdict: Exclude<Verdict, 'owned'>;
}

/**
 * Rebuild `applied`, the link's view and `ownership` from `read`; returns what is not ours, in
 * the order found (virtual servers, then addresses).
 */
export function adoptKernel(read: KernelRead, ctx: AdoptionContext, into: { applied: AppliedTable; ownership: Ownership; vips: VipLink }): NotOwned[] {
  const { applied, ownership, vips } = into;
  const notOwned: NotOwned[] = [];
  applied.clear();
  const owned: string[] = [];
  const foreign: string[] = [];
  for (const entry of read.entries) {
    const key = serviceKey(entry.service);
    const verdict = classifyVirtualServer(entry, ctx);
    if (verdict === 'owned') {
      applied.set(key, appliedFromEntry(entry));
      owned.push(key);
    } else {
      foreign.push(key);
      notOwned.push({ kind: 'virtual server', key, verdict });
    }
  }
  ownership.adoptVirtualServers(owned, foreign);
  const verdicts = new Map<string, Verdict>();
  const foreignAddresses = vips.load(read.addresses, read.routes, read.ifindex, (a, ourRoute) => {
    // Only the agent makes routes with its marker: one outside the service CIDRs is still its own.
    const c = classifyAddress(a, ctx);
    const v = ourRoute && c === 'foreign' ? 'owned' : c;
    verdicts.set(a, v);
    return v === 'owned';
  });
  ownership.adoptAddresses(vips.applied.keys(), foreignAddresses);
  for (const a of foreignAddresses) {
    const v = verdicts.get(a) ?? 'foreign';
    // Only a classifier's verdict against an address is reported.
    if (v !== 'owned') notOwned.push({ kind: 'address', key: a, verdict: v });
  }
  return notOwned;
}
