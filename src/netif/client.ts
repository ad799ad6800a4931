// LinkClient over the native addon (rtnetlink), in this or another network namespace.
// Same contract as the fake (src/netif/fake.ts); test/kernel/contract-netif.test.ts runs both.
import type { OpenOptions } from '../ipvs/client.js';
import type { OpResult } from '../vocabulary/ipvs.js';
import { loadNative, type NativeLinkHandle } from '../native/binding.js';
import { DumpInterruptedError, native } from '../native/errors.js';
import { decodeAddresses, decodeLocalRoutes, decodeResults, encodeLinkOps } from '../native/records.js';
import type { AddressOp, LinkAddress, LocalRoute, RouteOp } from '../vocabulary/addresses.js';
import type { LinkClient } from './types.js';

const DUMP_ATTEMPTS = 3;

class AddonLinkClient implements LinkClient {
  constructor(private readonly handle: NativeLinkHandle) {}

  /** Equivalent to: ip link add NAME type dummy (left down, as kube-proxy leaves it). */
  ensureDummyLink(name: string): Promise<{ ifindex: number; created: boolean; up: boolean }> {
    return native(this.handle.ensureDummyLink(name));
  }

  /** Equivalent to: ip link set NAME addrgenmode none; ip link set NAME up. */
  bringUpQuiet(name: string): Promise<boolean> {
    return native(this.handle.bringUpQuiet(name));
  }

  /** Equivalent to: ip route show table local type local dev IFINDEX (both families). Interrupted dumps are retried. */
  async listLocalRoutes(ifindex: number): Promise<LocalRoute[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return decodeLocalRoutes(await native(this.handle.listLocalRoutes(ifindex)));
      } catch (e) {
        if (!(e instanceof DumpInterruptedError) || attempt >= DUMP_ATTEMPTS) throw e;
      }
    }
  }

  /** Equivalent to: ip route add|del local ADDR/LEN dev IFINDEX table local proto 201 metric 1024, many per sendmsg. */
  async applyRoutes(ops: readonly RouteOp[]): Promise<OpResult[]> {
    if (ops.length === 0) return [];
    return decodeResults(await native(this.handle.applyRoutes(encodeLinkOps(ops))), ops.length);
  }

  linkIndex(name: string): Promise<number | undefined> {
    return native(this.handle.linkIndex(name));
  }

  /** Equivalent to: ip link del NAME. */
  deleteLink(name: string, onlyKind?: string): Promise<boolean> {
    return native(this.handle.deleteLink(name, onlyKind ?? ''));
  }

  /** Equivalent to: ip -o addr show [dev IFINDEX]. A dump the kernel flags as interrupted is retried. */
  async listAddresses(ifindex?: number): Promise<LinkAddress[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return decodeAddresses(await native(this.handle.listAddresses(ifindex)));
      } catch (e) {
        if (!(e instanceof DumpInterruptedError) || attempt >= DUMP_ATTEMPTS) throw e;
      }
    }
  }

  /** Equivalent to: ip addr add|del ADDR/LEN dev IFINDEX, many per sendmsg. */
  async applyAddresses(ops: readonly AddressOp[]): Promise<OpResult[]> {
    if (ops.length === 0) return [];
    return decodeResults(await native(this.handle.applyAddresses(encodeLinkOps(ops))), ops.length);
  }

  close(): void {
    this.handle.close().catch(() => undefined);
  }
}

/** Opens an rtnetlink handle, optionally inside the network namespace at opts.netns. */
export async function openLinks(opts: OpenOptions = {}): Promise<LinkClient> {
  const addon = loadNative();
  const handle = await native(addon.openLinks(opts.netns, opts.timeoutMs ?? 5000));
  return new AddonLinkClient(handle);
}
