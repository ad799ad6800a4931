// The VIPs on the dummy link kube-ipvs0: IPVS only accepts traffic for addresses the node owns,
// so every ClusterIP, externalIP and LoadBalancer IP is bound there as /32 or /128. NodePort
// addresses are node addresses already and are never bound.
import type { LinkAddress, LinkClient } from '../netif/types.js';
import { codeOf, messageOf } from './apply.js';
import { isDoubtCode } from '../native/errors.js';
import { hostPrefix, type AddressPlan, type AppliedAddress } from './diff.js';
import type { ObjectError } from './types.js';

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

export class VipLink {
  ifindex: number | undefined;
  /** Owned addresses on the link, by address. */
  readonly applied = new Map<string, AppliedAddress>();
  /** Addresses found on every other link (node addresses, VIPs held by keepalived or MetalLB). */
  readonly onOtherLinks = new Set<string>();
  /** Every address on the link, owned or not (for cleanup: the link goes only when it is empty). */
  readonly present = new Set<string>();

  constructor(private readonly links: LinkClient, readonly name: string) {}

  /** Rebuild from one full address dump; `owned` decides which addresses on the link are ours. */
  load(addresses: readonly LinkAddress[], ifindex: number | undefined, owned: (address: string) => boolean): string[] {
    this.ifindex = ifindex;
    this.applied.clear();
    this.onOtherLinks.clear();
    this.present.clear();
    const notOwned: string[] = [];
    for (const a of addresses) {
      if (ifindex === undefined || a.ifindex !== ifindex) {
        this.onOtherLinks.add(a.address);
        continue;
      }
      // The kernel gives every link that comes up an IPv6 link-local address: not a VIP, nobody's.
      if (isLinkLocal(a.address)) continue;
      this.present.add(a.address);
      if (owned(a.address)) this.applied.set(a.address, { family: a.family, prefixLen: a.prefixLen });
      else notOwned.push(a.address);
    }
    return notOwned;
  }

  /** Create the link when it is missing; resolves with the writes made (0 or 1). */
  async ensure(): Promise<number> {
    const r = await this.links.ensureDummyLink(this.name);
    if (r.created || r.ifindex !== this.ifindex) {
      // A link created anew (or replaced by hand) holds none of our addresses.
      this.applied.clear();
      this.present.clear();
    }
    this.ifindex = r.ifindex;
    return r.created ? 1 : 0;
  }

  async bind(plan: AddressPlan): Promise<AddressOutcome> {
    return this.run('add', plan.add.map((a) => ({ family: a.family, address: a.address, prefixLen: hostPrefix(a.family) })));
  }

  async unbind(plan: AddressPlan): Promise<AddressOutcome> {
    return this.run('delete', plan.remove);
  }

  async deleteLink(): Promise<number> {
    // Only a dummy link is ours to delete: a link of another kind under this name is left alone.
    const deleted = await this.links.deleteLink(this.name, 'dummy');
    this.ifindex = undefined;
    this.applied.clear();
    this.present.clear();
    return deleted ? 1 : 0;
  }

  private async run(op: 'add' | 'delete', items: { family: 'inet' | 'inet6'; address: string; prefixLen: number }[]): Promise<AddressOutcome> {
    const out: AddressOutcome = { writes: 0, errors: [], needsVerification: false, failed: new Set(), done: [] };
    if (items.length === 0) return out;
    const ifindex = this.ifindex;
    if (ifindex === undefined) {
      for (const a of items) {
        out.failed.add(a.address);
        out.errors.push({ object: `address ${a.address} on ${this.name}`, operation: `address ${op}`, code: 'ENODEV', message: `${this.name} does not exist` });
      }
      return out;
    }
    let results;
    try {
      results = await this.links.applyAddresses(items.map((a) => ({ op, ifindex, ...a })));
    } catch (err) {
      results = items.map(() => ({ ok: false as const, errno: 0, code: codeOf(err), message: messageOf(err) }));
      out.needsVerification = true;
    }
    out.writes += items.length;
    items.forEach((a, i) => {
      const r = results[i] ?? { ok: false as const, errno: 0, code: 'EIO', message: 'no result' };
      // Adding what is there, or deleting what is gone, leaves the wanted state: record it, then verify.
      const alreadyThere = !r.ok && ((op === 'add' && r.code === 'EEXIST') || (op === 'delete' && r.code === 'EADDRNOTAVAIL'));
      if (r.ok || alreadyThere) {
        if (op === 'add') {
          this.applied.set(a.address, { family: a.family, prefixLen: a.prefixLen });
          this.present.add(a.address);
        } else {
          this.applied.delete(a.address);
          this.present.delete(a.address);
        }
        out.done.push(a.address);
        if (alreadyThere) out.needsVerification = true;
        return;
      }
      if (isDoubtCode(r.code)) out.needsVerification = true;
      out.failed.add(a.address);
      out.errors.push({ object: `address ${a.address} on ${this.name}`, operation: `address ${op}`, code: r.code, message: r.message });
    });
    return out;
  }
}
