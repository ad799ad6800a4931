// An in-memory set of links, addresses and local routes that answers like rtnetlink: EEXIST for
// an address or route already present, EADDRNOTAVAIL (address) or ESRCH (route) for deleting one
// that is not, ENODEV for a missing link, ENETDOWN for an IPv6 route on a down link.
// Used by proxier unit tests and by the contract suite that also runs against the addon.
import { canonicalAddress, closedError, errnoOf, failure, takeFault } from './fake-ipvs.js';
import type { OpResult } from '../../src/vocabulary/ipvs.js';
import { NetlinkError } from '../../src/native/errors.js';
import type { AddressOp, LinkAddress, LocalRoute, RouteOp } from '../../src/vocabulary/addresses.js';
import type { LinkClient } from '../../src/netif/types.js';

interface FakeLink {
  ifindex: number;
  name: string;
  kind: string;
  up: boolean;
}

/** A fault to inject: address or route operations matching `match` fail with `code` (`times`, default once). */
export interface LinkFault {
  match: (op: AddressOp, kind: 'address' | 'route') => boolean;
  code: string;
  times?: number;
}

export class FakeLinks implements LinkClient {
  /** rtnetlink requests that would change the kernel: link create/up/delete, each address op. */
  writes = 0;
  /** Address dumps served. */
  dumps = 0;
  private readonly links = new Map<string, FakeLink>();
  private addresses: LinkAddress[] = [];
  /** The agent's local routes (protocol 201); the kernel's for addresses are derived from `addresses`. */
  private routes: LocalRoute[] = [];
  /** Route dumps served. */
  routeDumps = 0;
  private nextIndex = 1;
  private readonly faults: LinkFault[] = [];
  private closed = false;

  /** Starts with a loopback link, as every network namespace does. */
  constructor() {
    this.addLink('lo', 'loopback');
    this.seedAddress('lo', '127.0.0.1', 8);
    this.seedAddress('lo', '::1', 128);
  }

  async ensureDummyLink(name: string): Promise<{ ifindex: number; created: boolean; up: boolean }> {
    this.assertOpen('ensureDummyLink');
    const existing = this.links.get(name);
    if (existing) {
      if (existing.kind !== 'dummy') throw notOurs(existing, 'dummy', 'ensureDummyLink');
      return { ifindex: existing.ifindex, created: false, up: existing.up };
    }
    // One RTM_NEWLINK creates it down, as kube-proxy does (a down link has no IPv6 link-local
    // address either); an existing link keeps whatever state it has.
    this.writes++;
    const link = this.addLink(name, 'dummy');
    link.up = false;
    return { ifindex: link.ifindex, created: true, up: false };
  }

  async bringUpQuiet(name: string): Promise<boolean> {
    this.assertOpen('bringUpQuiet');
    const link = this.links.get(name);
    if (!link) throw new NetlinkError(`link ${name} does not exist`, errnoOf('ENODEV'), 'ENODEV', 'bringUpQuiet');
    if (link.kind !== 'dummy') throw notOurs(link, 'dummy', 'bringUpQuiet');
    if (link.up) return false;
    // Two requests: address generation off, then up.
    this.writes += 2;
    link.up = true;
    return true;
  }

  async listLocalRoutes(ifindex: number): Promise<LocalRoute[]> {
    this.assertOpen('listLocalRoutes');
    this.routeDumps++;
    // The kernel keeps a local route (proto kernel) for every address of a link.
    const kernel: LocalRoute[] = this.addresses
      .filter((a) => a.ifindex === ifindex)
      .map((a) => ({ ifindex, family: a.family, address: a.address, prefixLen: a.family === 'inet' ? 32 : 128, protocol: 2, ours: false }));
    return [...kernel, ...this.routes.filter((r) => r.ifindex === ifindex).map((r) => ({ ...r }))];
  }

  async applyRoutes(ops: readonly RouteOp[]): Promise<OpResult[]> {
    this.assertOpen('applyRoutes');
    return this.applyEach(ops, 'route', (op) => this.applyRoute(op));
  }

  async linkIndex(name: string): Promise<number | undefined> {
    this.assertOpen('linkIndex');
    return this.links.get(name)?.ifindex;
  }

  async deleteLink(name: string, onlyKind?: string): Promise<boolean> {
    this.assertOpen('deleteLink');
    const link = this.links.get(name);
    if (!link) return false;
    if (onlyKind && link.kind !== onlyKind) throw notOurs(link, onlyKind, 'deleteLink');
    this.writes++;
    this.links.delete(name);
    this.addresses = this.addresses.filter((a) => a.ifindex !== link.ifindex);
    this.routes = this.routes.filter((r) => r.ifindex !== link.ifindex);
    return true;
  }

  async listAddresses(ifindex?: number): Promise<LinkAddress[]> {
    this.assertOpen('listAddresses');
    this.dumps++;
    return this.addresses.filter((a) => ifindex === undefined || a.ifindex === ifindex).map((a) => ({ ...a }));
  }

  async applyAddresses(ops: readonly AddressOp[]): Promise<OpResult[]> {
    this.assertOpen('applyAddresses');
    return this.applyEach(ops, 'address', (op) => this.applyOne(op));
  }

  /** Each op is a write that an injected fault of its kind may fail, as the kernel's batch reports. */
  private applyEach<Op extends AddressOp | RouteOp>(ops: readonly Op[], kind: 'address' | 'route', apply: (op: Op) => OpResult): OpResult[] {
    return ops.map((op) => {
      this.writes++;
      const injected = takeFault(this.faults, (f) => f.match(op, kind));
      if (injected) return failure(injected, `injected fault on ${kind} ${op.op}`);
      return apply(op);
    });
  }

  close(): void {
    this.closed = true;
  }

  // ---- test controls (not part of LinkClient) ----

  /** Create a link without counting a write (the host's own interfaces). */
  addLink(name: string, kind = 'veth'): FakeLink {
    if (this.links.has(name)) throw new RangeError(`link ${name} exists`);
    const link = { ifindex: this.nextIndex++, name, kind, up: true };
    this.links.set(name, link);
    return link;
  }

  /** Put an address on a link without counting a write (state made by someone else). */
  seedAddress(linkName: string, address: string, prefixLen: number): void {
    const link = this.links.get(linkName);
    if (!link) throw new RangeError(`no link ${linkName}`);
    const family = address.includes(':') ? 'inet6' : 'inet';
    const canonical = canonicalAddress(family, address);
    if (canonical === undefined) throw new RangeError(`bad address ${address}`);
    this.addresses.push({ ifindex: link.ifindex, ifname: link.name, family, address: canonical, prefixLen });
  }

  /** Remove an address without counting a write (drift made by hand). */
  removeAddress(address: string): void {
    this.addresses = this.addresses.filter((a) => a.address !== address);
  }

  isUp(name: string): boolean | undefined {
    return this.links.get(name)?.up;
  }

  injectFault(fault: LinkFault): void {
    errnoOf(fault.code);
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Remove one of the agent's routes without counting a write (drift made by hand). */
  removeRoute(address: string): void {
    this.routes = this.routes.filter((r) => r.address !== address);
  }

  /** Put a route of the agent's on a link without counting a write (left by an earlier run). */
  seedRoute(linkName: string, address: string): void {
    const link = this.links.get(linkName);
    if (!link) throw new RangeError(`no link ${linkName}`);
    const family = address.includes(':') ? 'inet6' : 'inet';
    const canonical = canonicalAddress(family, address);
    if (canonical === undefined) throw new RangeError(`bad address ${address}`);
    this.routes.push({ ifindex: link.ifindex, family, address: canonical, prefixLen: family === 'inet' ? 32 : 128, protocol: 201, ours: true });
  }

  private assertOpen(method: string): void {
    if (this.closed) throw closedError('link', method);
  }

  private applyOne(op: AddressOp): OpResult {
    const link = [...this.links.values()].find((l) => l.ifindex === op.ifindex);
    if (!link) return failure('ENODEV', `no link with index ${op.ifindex}`);
    const address = canonicalAddress(op.family, op.address);
    if (address === undefined) return failure('EINVAL', `invalid ${op.family} address ${op.address}`);
    const maxLen = op.family === 'inet' ? 32 : 128;
    if (op.prefixLen < 0 || op.prefixLen > maxLen) return failure('EINVAL', `prefix length ${op.prefixLen} out of range`);
    const i = this.addresses.findIndex((a) => a.ifindex === op.ifindex && a.address === address && (op.op === 'delete' || a.prefixLen === op.prefixLen));
    if (op.op === 'add') {
      // The kernel keys addresses by (link, address, prefix): the same address twice is EEXIST.
      if (this.addresses.some((a) => a.ifindex === op.ifindex && a.address === address)) {
        return failure('EEXIST', `address ${address} already on ${link.name}`);
      }
      this.addresses.push({ ifindex: op.ifindex, ifname: link.name, family: op.family, address, prefixLen: op.prefixLen });
      return { ok: true };
    }
    if (i < 0) return failure('EADDRNOTAVAIL', `address ${address} not on ${link.name}`);
    this.addresses.splice(i, 1);
    // As the kernel does (fib_disable_ip): a link's last IPv4 address takes its IPv4 routes along.
    if (op.family === 'inet' && !this.addresses.some((a) => a.ifindex === op.ifindex && a.family === 'inet')) {
      this.routes = this.routes.filter((r) => r.ifindex !== op.ifindex || r.family !== 'inet');
    }
    return { ok: true };
  }

  private applyRoute(op: RouteOp): OpResult {
    const link = [...this.links.values()].find((l) => l.ifindex === op.ifindex);
    if (!link) return failure('ENODEV', `no link with index ${op.ifindex}`);
    const address = canonicalAddress(op.family, op.address);
    if (address === undefined) return failure('EINVAL', `invalid ${op.family} address ${op.address}`);
    const maxLen = op.family === 'inet' ? 32 : 128;
    if (op.prefixLen < 0 || op.prefixLen > maxLen) return failure('EINVAL', `prefix length ${op.prefixLen} out of range`);
    const i = this.routes.findIndex((r) => sameRoute(r, op, address));
    if (op.op === 'add') {
      if (i >= 0) return failure('EEXIST', `local route ${address} already on ${link.name}`);
      if (op.family === 'inet6' && !link.up) return failure('ENETDOWN', `${link.name} is down: an IPv6 local route needs it up`);
      this.routes.push({ ifindex: op.ifindex, family: op.family, address, prefixLen: op.prefixLen, protocol: 201, ours: true });
      return { ok: true };
    }
    if (i < 0) return failure('ESRCH', `no local route ${address} on ${link.name}`);
    this.routes.splice(i, 1);
    return { ok: true };
  }
}

/** Local routes are keyed by (link, destination, prefix length) among the agent's own. */
function sameRoute(r: LocalRoute, op: RouteOp, address: string): boolean {
  return r.ifindex === op.ifindex && r.address === address && r.prefixLen === op.prefixLen;
}

/** The addon's error for a link of that name but another kind (someone else's link). */
function notOurs(link: FakeLink, kind: string, op: string): NetlinkError {
  return new NetlinkError(`link ${link.name} exists as a ${link.kind} link, not a ${kind} link: not ours, left alone`, errnoOf('EEXIST'), 'EEXIST', op);
}
