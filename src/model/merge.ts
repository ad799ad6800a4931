// Merging per-service results into one desired state. Two services may claim the same virtual
// server (same externalIP and port, say): the older one wins, ties broken by namespace/name, so
// every node and every restart picks the same owner.
import type { DesiredState, DesiredVirtualServer, ModelWarning, VipAddress } from './types.js';
import { sameDesiredVirtualServer, type ServiceResult } from './compute.js';
import { warningOn } from './objects.js';

/** Negative when `a` beats `b` for a contested virtual server. */
export function compareClaimants(a: ServiceResult, b: ServiceResult): number {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function conflictWarning(key: string, winner: ServiceResult, loser: ServiceResult): ModelWarning {
  return warningOn(
    loser.ref,
    loser.fields.get(key) ?? 'spec',
    `virtual server ${key} is also claimed by Service ${winner.id}, which wins (older, or same age and first by namespace/name); not served for this service`,
  );
}

/**
 * The merged state, maintained one service at a time. Between begin() and commit(), replace()
 * swaps a service's result; commit() reports exactly which keys and addresses ended up different.
 * Work is proportional to the size of the services replaced, never to the number of services.
 */
export class MergedState {
  private readonly vss = new Map<string, DesiredVirtualServer>();
  private readonly vips = new Map<string, VipAddress>();
  /** Claimants per virtual-server key, best first (nearly always exactly one). */
  private readonly claims = new Map<string, ServiceResult[]>();
  private readonly vipRefs = new Map<string, number>();
  private touchedKeys = new Map<string, DesiredVirtualServer | undefined>();
  private touchedVips = new Map<string, boolean>();

  readonly state: DesiredState = { virtualServers: this.vss, addresses: this.vips };

  begin(): void {
    this.touchedKeys = new Map();
    this.touchedVips = new Map();
  }

  replace(old: ServiceResult | undefined, next: ServiceResult | undefined): void {
    if (old) {
      for (const key of old.virtualServers.keys()) this.unclaim(key, old);
      for (const addr of old.addresses.keys()) this.unref(addr);
    }
    if (next) {
      for (const key of next.virtualServers.keys()) this.claim(key, next);
      for (const [addr, vip] of next.addresses) this.ref(addr, vip);
    }
  }

  commit(): { changedVirtualServers: Set<string>; changedAddresses: Set<string>; warnings: ModelWarning[] } {
    const changedVirtualServers = new Set<string>();
    const changedAddresses = new Set<string>();
    const warnings: ModelWarning[] = [];
    for (const [key, before] of this.touchedKeys) {
      const list = this.claims.get(key);
      const after = list?.[0].virtualServers.get(key);
      if (after) this.vss.set(key, after);
      else this.vss.delete(key);
      if (before !== after && (!before || !after || !sameDesiredVirtualServer(before, after))) changedVirtualServers.add(key);
      if (list) for (let i = 1; i < list.length; i++) warnings.push(conflictWarning(key, list[0], list[i]));
    }
    for (const [addr, before] of this.touchedVips) if (before !== this.vips.has(addr)) changedAddresses.add(addr);
    return { changedVirtualServers, changedAddresses, warnings };
  }

  private touchKey(key: string): void {
    if (!this.touchedKeys.has(key)) this.touchedKeys.set(key, this.vss.get(key));
  }

  private claim(key: string, r: ServiceResult): void {
    this.touchKey(key);
    const list = this.claims.get(key);
    if (!list) {
      this.claims.set(key, [r]);
      return;
    }
    let i = 0;
    while (i < list.length && compareClaimants(list[i], r) < 0) i++;
    list.splice(i, 0, r);
  }

  private unclaim(key: string, r: ServiceResult): void {
    this.touchKey(key);
    const list = this.claims.get(key);
    if (!list) return;
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.claims.delete(key);
  }

  private ref(addr: string, vip: VipAddress): void {
    if (!this.touchedVips.has(addr)) this.touchedVips.set(addr, this.vips.has(addr));
    const n = this.vipRefs.get(addr) ?? 0;
    this.vipRefs.set(addr, n + 1);
    if (n === 0) this.vips.set(addr, vip);
  }

  private unref(addr: string): void {
    if (!this.touchedVips.has(addr)) this.touchedVips.set(addr, this.vips.has(addr));
    const n = (this.vipRefs.get(addr) ?? 0) - 1;
    if (n > 0) {
      this.vipRefs.set(addr, n);
      return;
    }
    this.vipRefs.delete(addr);
    this.vips.delete(addr);
  }
}

/** The same merge done in one pass, written independently so tests can compare the two. */
export function mergeAll(results: readonly ServiceResult[]): { state: DesiredState; warnings: ModelWarning[] } {
  const ordered = [...results].sort(compareClaimants);
  const vss = new Map<string, DesiredVirtualServer>();
  const winners = new Map<string, ServiceResult>();
  const vips = new Map<string, VipAddress>();
  const warnings: ModelWarning[] = [];
  for (const r of ordered) {
    for (const [key, vs] of r.virtualServers) {
      const winner = winners.get(key);
      if (winner) {
        warnings.push(conflictWarning(key, winner, r));
        continue;
      }
      winners.set(key, r);
      vss.set(key, vs);
    }
    for (const [addr, vip] of r.addresses) if (!vips.has(addr)) vips.set(addr, vip);
  }
  return { state: { virtualServers: vss, addresses: vips }, warnings };
}
