// The VIPs made local on the dummy link kube-ipvs0: IPVS only accepts traffic for addresses the
// node owns, so every ClusterIP, externalIP and LoadBalancer IP is made local there, as a `local`
// route in table local (mode routes), as a /32 or /128 address (mode addresses, kube-proxy's
// way), or both (routes at once, addresses filled in behind them). NodePort addresses are node
// addresses already and are never bound.
//
// Why routes: each IPv4 address add walks every address of the namespace under RTNL (quadratic
// in the VIP count); a route add is one trie insert. 10,000 VIPs in the VM: 2.24 s of kernel CPU
// as addresses, 0.44 s as routes (README, "How VIPs are made local").
import type { Family, OpResult } from '../vocabulary/ipvs.js';
import type { LinkAddress, LocalRoute } from '../vocabulary/addresses.js';
import type { LinkClient } from '../netif/types.js';
import { codeOf } from './apply.js';
import { isDoubtCode } from '../native/errors.js';
import { hostPrefix, type AddressPlan, type AppliedAddress } from './diff.js';
import type { Clock, ObjectError } from './types.js';
import { messageOf } from '../util/errors.js';

export type VipMode = 'routes' | 'addresses' | 'both';
export const VIP_MODES: readonly VipMode[] = ['routes', 'addresses', 'both'];

/** How one VIP is made local right now. */
export type LocalBy = 'route' | 'address' | 'route+address';

/** fe80::/10 */
export function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

export interface AddressOutcome {
  writes: number;
  errors: ObjectError[];
  needsVerification: boolean;
  failed: Set<string>;
  done: string[];
}

/** Pacing of the background address fill of mode both. */
export interface VipFillPacing {
  /** Addresses per request batch (each batch holds RTNL for its length). Default 100. */
  batch: number;
  /** Pause between batches, so syncs' own writes interleave. Default 50 ms. */
  pauseMs: number;
}

export interface VipFillReport {
  /** Addresses added by this fill. */
  added: number;
  /** From the first pending address to the last one bound. */
  durationMs: number;
  errors: ObjectError[];
}

type Item = { family: Family; address: string; prefixLen: number };
type Form = 'route' | 'address';

const DEFAULT_PACING: VipFillPacing = { batch: 100, pauseMs: 50 };

function outcome(): AddressOutcome {
  return { writes: 0, errors: [], needsVerification: false, failed: new Set(), done: [] };
}

function merge(into: AddressOutcome, o: AddressOutcome): void {
  into.writes += o.writes;
  into.errors.push(...o.errors);
  into.needsVerification ||= o.needsVerification;
  for (const f of o.failed) into.failed.add(f);
}

export class VipLink {
  ifindex: number | undefined;
  /** Whether the link is up (IPv6 local routes need it up); undefined until known. */
  up: boolean | undefined;
  /** Owned VIPs made local on the link (by route, address or both), by address. */
  readonly applied = new Map<string, AppliedAddress>();
  /** Owned VIPs that have the agent's local route. */
  readonly routed = new Set<string>();
  /** Owned VIPs bound as addresses on the link. */
  readonly bound = new Set<string>();
  /** Addresses found on every other link (node addresses, VIPs held by keepalived or MetalLB). */
  readonly onOtherLinks = new Set<string>();
  /** Everything on the link, owned or not (for cleanup: the link goes only when it is empty). */
  readonly present = new Set<string>();
  /** Addresses on the link that are not the agent's. */
  private readonly foreignOnLink = new Set<string>();
  /** Mode both: owned VIPs whose address the background fill has yet to add. */
  readonly pendingFill = new Set<string>();
  private filling: Promise<void> | undefined;
  private fillStopped = false;

  constructor(
    private readonly links: LinkClient,
    readonly name: string,
    readonly mode: VipMode = 'addresses',
    private readonly fill: { links: LinkClient; clock: Clock; pacing?: VipFillPacing; onCaughtUp?: (r: VipFillReport) => void } | undefined = undefined,
  ) {}

  /** How each owned VIP is made local (status, tests). */
  localBy(address: string): LocalBy | undefined {
    if (!this.applied.has(address)) return undefined;
    const r = this.routed.has(address);
    const a = this.bound.has(address);
    return r && a ? 'route+address' : r ? 'route' : 'address';
  }

  /** True while mode both still adds addresses in the background. */
  get fillPending(): boolean {
    return this.filling !== undefined || this.pendingFill.size > 0;
  }

  /**
   * Rebuild from one full address dump and one dump of the link's local routes; `owned` decides
   * which VIPs on the link are ours (`ourRoute`: it carries the agent's route marker).
   */
  load(
    addresses: readonly LinkAddress[],
    routes: readonly LocalRoute[],
    link: { ifindex: number; up: boolean } | number | undefined,
    owned: (address: string, ourRoute: boolean) => boolean,
  ): string[] {
    const ifindex = typeof link === 'object' ? link.ifindex : link;
    this.ifindex = ifindex;
    if (typeof link === 'object') this.up = link.up;
    else if (link === undefined) this.up = undefined;
    this.applied.clear();
    this.routed.clear();
    this.bound.clear();
    this.onOtherLinks.clear();
    this.present.clear();
    this.foreignOnLink.clear();
    const notOwned = new Set<string>();
    for (const a of addresses) {
      if (ifindex === undefined || a.ifindex !== ifindex) {
        this.onOtherLinks.add(a.address);
        continue;
      }
      // The kernel gives every link that comes up an IPv6 link-local address: not a VIP, nobody's.
      if (isLinkLocal(a.address)) continue;
      this.present.add(a.address);
      if (owned(a.address, false)) {
        this.applied.set(a.address, { family: a.family, prefixLen: a.prefixLen });
        this.bound.add(a.address);
      } else {
        notOwned.add(a.address);
        this.foreignOnLink.add(a.address);
      }
    }
    for (const r of routes) {
      if (ifindex === undefined || r.ifindex !== ifindex) continue;
      // The kernel's own local route of an address (proto kernel) comes and goes with it.
      if (r.protocol === 2) continue;
      this.present.add(r.address);
      if (r.ours && owned(r.address, true)) {
        if (!this.applied.has(r.address)) this.applied.set(r.address, { family: r.family, prefixLen: hostPrefix(r.family) });
        this.routed.add(r.address);
        notOwned.delete(r.address);
      } else if (!this.applied.has(r.address)) notOwned.add(r.address);
    }
    this.pendingFill.clear();
    if (this.mode === 'both') for (const a of this.applied.keys()) if (!this.bound.has(a)) this.pendingFill.add(a);
    return [...notOwned];
  }

  /** Create the link when it is missing; resolves with the writes made (0 or 1). */
  async ensure(): Promise<number> {
    const r = await this.links.ensureDummyLink(this.name);
    if (r.created || r.ifindex !== this.ifindex) {
      // A link created anew (or replaced by hand) holds none of our VIPs.
      this.applied.clear();
      this.routed.clear();
      this.bound.clear();
      this.present.clear();
    }
    this.ifindex = r.ifindex;
    this.up = r.up;
    return r.created ? 1 : 0;
  }

  /** Make the VIPs of the plan local, the mode's way (mode both: routes now, addresses later). */
  async bind(plan: AddressPlan): Promise<AddressOutcome> {
    const items = plan.add.map((a) => ({ family: a.family, address: a.address, prefixLen: hostPrefix(a.family) }));
    if (this.mode === 'addresses') return this.run('address', 'add', items);
    const out = outcome();
    if (items.some((a) => a.family === 'inet6')) merge(out, await this.raiseForIpv6());
    merge(out, await this.run('route', 'add', items));
    if (this.mode === 'both') {
      for (const a of items) if (this.routed.has(a.address) && !this.bound.has(a.address)) this.pendingFill.add(a.address);
      this.startFill();
    }
    out.done = items.filter((a) => this.applied.has(a.address)).map((a) => a.address);
    return out;
  }

  /** Take the VIPs of the plan off the link: every form the agent holds of each. */
  async unbind(plan: AddressPlan): Promise<AddressOutcome> {
    for (const a of plan.remove) this.pendingFill.delete(a.address);
    const out = outcome();
    const routes = plan.remove.filter((a) => this.routed.has(a.address)).map((a) => ({ ...a, prefixLen: hostPrefix(a.family) }));
    const addresses = plan.remove.filter((a) => this.bound.has(a.address) || !this.routed.has(a.address));
    merge(out, await this.run('route', 'delete', routes));
    await this.spareLastIpv4(addresses, new Set(plan.remove.map((a) => a.address)), out);
    merge(out, await this.run('address', 'delete', addresses));
    for (const a of plan.remove) {
      if (out.failed.has(a.address)) continue;
      this.applied.delete(a.address);
      out.done.push(a.address);
    }
    return out;
  }

  /**
   * Bring every owned VIP to the mode's form, adding the new form before removing the old, so no
   * VIP stops being local on the way (kube-proxy's addresses adopted in mode routes; routes left
   * by mode routes when the mode is addresses). Mode both leaves addresses to the fill.
   */
  async converge(): Promise<AddressOutcome> {
    const out = outcome();
    const want: Form = this.mode === 'addresses' ? 'address' : 'route';
    const have = want === 'route' ? this.routed : this.bound;
    const missing: Item[] = [];
    for (const [address, a] of this.applied) if (!have.has(address)) missing.push({ family: a.family, address, prefixLen: hostPrefix(a.family) });
    if (want === 'route' && missing.some((a) => a.family === 'inet6')) merge(out, await this.raiseForIpv6());
    merge(out, await this.run(want, 'add', missing));
    if (this.mode === 'both') {
      this.startFill();
      return out;
    }
    const other = want === 'route' ? this.bound : this.routed;
    const old: Item[] = [];
    for (const address of other) {
      const a = this.applied.get(address);
      if (a && have.has(address)) old.push({ family: a.family, address, prefixLen: want === 'route' ? a.prefixLen : hostPrefix(a.family) });
    }
    const deletes = want === 'route' ? await this.spareLastIpv4(old, new Set(), out) : old;
    merge(out, await this.run(want === 'route' ? 'address' : 'route', 'delete', deletes));
    return out;
  }

  /**
   * When the last IPv4 address of a link goes, the kernel flushes every IPv4 route through it
   * (fib_disable_ip), the agent's local routes included. So while IPv4 VIPs stay local by route,
   * one IPv4 address stays on the link: of the deletes, one whose VIP stays is kept (returned list
   * without it); when every one of them goes, a staying VIP is bound as an address first.
   */
  private async spareLastIpv4(deletes: Item[], removing: ReadonlySet<string>, out: AddressOutcome): Promise<Item[]> {
    const v4 = deletes.filter((a) => a.family === 'inet');
    if (v4.length === 0) return deletes;
    let onLink = 0;
    for (const a of this.bound) if (!a.includes(':')) onLink++;
    for (const a of this.foreignOnLink) if (!a.includes(':')) onLink++;
    if (onLink > v4.length) return deletes;
    const staying = [...this.routed].filter((a) => !a.includes(':') && !removing.has(a));
    if (staying.length === 0) return deletes;
    const keep = v4.find((a) => !removing.has(a.address));
    if (keep) return deletes.filter((a) => a !== keep);
    const anchor = staying.find((a) => !this.bound.has(a)) ?? staying[0];
    merge(out, await this.run('address', 'add', [{ family: 'inet', address: anchor, prefixLen: 32 }]));
    return deletes;
  }

  /** Stop the background fill (cleanup); resolves when a batch in flight has landed. */
  async stopFill(): Promise<void> {
    this.fillStopped = true;
    this.pendingFill.clear();
    await this.filling;
  }

  /** Resolves when the background fill has nothing left to do (tests, shutdown). */
  async fillSettled(): Promise<void> {
    while (this.filling) await this.filling;
  }

  async deleteLink(): Promise<number> {
    // Only a dummy link is ours to delete: a link of another kind under this name is left alone.
    const deleted = await this.links.deleteLink(this.name, 'dummy');
    this.ifindex = undefined;
    this.up = undefined;
    this.applied.clear();
    this.routed.clear();
    this.bound.clear();
    this.present.clear();
    return deleted ? 1 : 0;
  }

  /** IPv6 local routes need the link up; it comes up without IPv6 address generation. */
  private async raiseForIpv6(): Promise<AddressOutcome> {
    const out = outcome();
    if (this.up === true || this.ifindex === undefined) return out;
    try {
      if (await this.links.bringUpQuiet(this.name)) out.writes += 2;
      this.up = true;
    } catch (err) {
      out.errors.push({ object: `link ${this.name}`, operation: 'link up (for IPv6 local routes)', code: codeOf(err), message: messageOf(err) });
    }
    return out;
  }

  private startFill(): void {
    if (this.mode !== 'both' || this.fill === undefined || this.filling || this.pendingFill.size === 0) return;
    this.fillStopped = false;
    const fill = this.fill;
    const t0 = fill.clock.now();
    const report: VipFillReport = { added: 0, durationMs: 0, errors: [] };
    this.filling = this.runFill(fill, report).finally(() => {
      this.filling = undefined;
      if (this.fillStopped) return;
      report.durationMs = fill.clock.now() - t0;
      // A pass may have queued more while the last batch was in flight.
      if (this.pendingFill.size > 0) this.startFill();
      else fill.onCaughtUp?.(report);
    });
  }

  /** Adds pending addresses a batch at a time on the fill's own handle, pausing between batches. */
  private async runFill(fill: NonNullable<VipLink['fill']>, report: VipFillReport): Promise<void> {
    const pacing = fill.pacing ?? DEFAULT_PACING;
    while (!this.fillStopped && this.pendingFill.size > 0) {
      const ifindex = this.ifindex;
      if (ifindex === undefined) return;
      const batch: Item[] = [];
      for (const address of this.pendingFill) {
        const a = this.applied.get(address);
        if (a && !this.bound.has(address)) batch.push({ family: a.family, address, prefixLen: hostPrefix(a.family) });
        if (batch.length >= pacing.batch) break;
      }
      for (const a of batch) this.pendingFill.delete(a.address);
      if (batch.length === 0) {
        this.pendingFill.clear();
        return;
      }
      let results: OpResult[];
      try {
        results = await fill.links.applyAddresses(batch.map((a) => ({ op: 'add' as const, ifindex, ...a })));
      } catch (err) {
        results = batch.map(() => ({ ok: false as const, errno: 0, code: codeOf(err), message: messageOf(err) }));
      }
      const strays: Item[] = [];
      batch.forEach((a, i) => {
        const r = results[i];
        const there = r?.ok === true || r?.code === 'EEXIST';
        if (!there) {
          report.errors.push({
            object: `address ${a.address} on ${this.name}`,
            operation: 'address add (background fill)',
            code: r?.code ?? 'EIO',
            message: r?.message ?? 'no result',
          });
          return;
        }
        // The VIP went (or the link was replaced) while its address was being added: take it off again.
        if (!this.applied.has(a.address) || this.ifindex !== ifindex) strays.push(a);
        else {
          this.bound.add(a.address);
          this.present.add(a.address);
          report.added++;
        }
      });
      if (strays.length > 0) await fill.links.applyAddresses(strays.map((a) => ({ op: 'delete' as const, ifindex, ...a }))).catch(() => undefined);
      if (pacing.pauseMs > 0 && this.pendingFill.size > 0) await new Promise<void>((resolve) => fill.clock.setTimeout(resolve, pacing.pauseMs));
    }
  }

  private async run(form: Form, op: 'add' | 'delete', items: Item[]): Promise<AddressOutcome> {
    const out = outcome();
    if (items.length === 0) return out;
    const what = form === 'route' ? 'local route' : 'address';
    const ifindex = this.ifindex;
    if (ifindex === undefined) {
      for (const a of items) {
        out.failed.add(a.address);
        out.errors.push({ object: `${what} ${a.address} on ${this.name}`, operation: `${what} ${op}`, code: 'ENODEV', message: `${this.name} does not exist` });
      }
      return out;
    }
    const ops = items.map((a) => ({ op, ifindex, ...a }));
    let results: OpResult[];
    try {
      results = await (form === 'route' ? this.links.applyRoutes(ops) : this.links.applyAddresses(ops));
    } catch (err) {
      results = items.map(() => ({ ok: false as const, errno: 0, code: codeOf(err), message: messageOf(err) }));
      out.needsVerification = true;
    }
    out.writes += items.length;
    const gone = form === 'route' ? 'ESRCH' : 'EADDRNOTAVAIL';
    const set = form === 'route' ? this.routed : this.bound;
    items.forEach((a, i) => {
      const r = results[i] ?? { ok: false as const, errno: 0, code: 'EIO', message: 'no result' };
      // Adding what is there, or deleting what is gone, leaves the wanted state: record it, then verify.
      const alreadyThere = !r.ok && ((op === 'add' && r.code === 'EEXIST') || (op === 'delete' && r.code === gone));
      if (r.ok || alreadyThere) {
        if (op === 'add') {
          if (!this.applied.has(a.address)) this.applied.set(a.address, { family: a.family, prefixLen: a.prefixLen });
          set.add(a.address);
          this.present.add(a.address);
        } else {
          set.delete(a.address);
          if (!this.routed.has(a.address) && !this.bound.has(a.address)) this.present.delete(a.address);
        }
        out.done.push(a.address);
        if (alreadyThere) out.needsVerification = true;
        return;
      }
      if (isDoubtCode(r.code)) out.needsVerification = true;
      out.failed.add(a.address);
      out.errors.push({ object: `${what} ${a.address} on ${this.name}`, operation: `${what} ${op}`, code: r.code, message: r.message });
    });
    return out;
  }
}
