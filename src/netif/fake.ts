// An in-memory set of links and addresses that answers like rtnetlink: EEXIST for an address
// already present, EADDRNOTAVAIL for deleting one that is not, ENODEV for a missing link.
// Used by proxier unit tests and by the contract suite that also runs against the addon.
import { canonicalAddress, closedError, errnoOf, failure, takeFault } from '../ipvs/fake.js';
import type { OpResult } from '../ipvs/types.js';
import { NetlinkError } from '../native/errors.js';
import type { AddressOp, LinkAddress, LinkClient } from './types.js';

interface FakeLink {
  ifindex: number;
  name: string;
  kind: string;
  up: boolean;
}

/** A fault to inject: address operations matching `match` fail with `code` (`times`, default once). */
export interface LinkFault {
  match: (op: AddressOp) => boolean;
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
  private nextIndex = 1;
  private readonly faults: LinkFault[] = [];
  private closed = false;

  /** Starts with a loopback link, as every network namespace does. */
  constructor() {
    this.addLink('lo', 'loopback');
    this.seedAddress('lo', '127.0.0.1', 8);
    this.seedAddress('lo', '::1', 128);
  }

  async ensureDummyLink(name: string): Promise<{ ifindex: number; created: boolean }> {
    this.assertOpen('ensureDummyLink');
    const existing = this.links.get(name);
    if (existing) {
      if (existing.kind !== 'dummy') throw notOurs(existing, 'dummy', 'ensureDummyLink');
      return { ifindex: existing.ifindex, created: false };
    }
    // One RTM_NEWLINK creates it down, as kube-proxy does (a down link has no IPv6 link-local
    // address either); an existing link keeps whatever state it has.
    this.writes++;
    const link = this.addLink(name, 'dummy');
    link.up = false;
    return { ifindex: link.ifindex, created: true };
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
    return true;
  }

  async listAddresses(ifindex?: number): Promise<LinkAddress[]> {
    this.assertOpen('listAddresses');
    this.dumps++;
    return this.addresses.filter((a) => ifindex === undefined || a.ifindex === ifindex).map((a) => ({ ...a }));
  }

  async applyAddresses(ops: readonly AddressOp[]): Promise<OpResult[]> {
    this.assertOpen('applyAddresses');
    return ops.map((op) => {
      this.writes++;
      const injected = takeFault(this.faults, op);
      if (injected) return failure(injected, `injected fault on address ${op.op}`);
      return this.applyOne(op);
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
    const i = this.addresses.findIndex(
      (a) => a.ifindex === op.ifindex && a.address === address && (op.op === 'delete' || a.prefixLen === op.prefixLen),
    );
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
    return { ok: true };
  }
}

/** The addon's error for a link of that name but another kind (someone else's link). */
function notOurs(link: FakeLink, kind: string, op: string): NetlinkError {
  return new NetlinkError(`link ${link.name} exists as a ${link.kind} link, not a ${kind} link: not ours, left alone`, errnoOf('EEXIST'), 'EEXIST', op);
}
