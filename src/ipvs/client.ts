// IpvsClient over the native addon: the real kernel table, in this or another network
// namespace. Same contract as the in-memory fake (src/ipvs/fake.ts); the contract suite in
// test/kernel/contract-ipvs.test.ts runs both.
import { loadNative, type NativeIpvsHandle } from '../native/binding.js';
import { native } from '../native/errors.js';
import { decodeDump, decodeResults, DumpDecoder, encodeOps, encodeServiceKey } from '../native/records.js';
import { TimeSlices } from './time-slices.js';
import type { DumpOptions, IpvsClient, IpvsInfo, IpvsTimeouts } from './types.js';
import type { IpvsOp, OpResult, RealServerStatus, VirtualServerEntry, VirtualServerKey } from '../vocabulary/ipvs.js';

export interface OpenOptions {
  /** A network namespace path (e.g. /run/netns/foo) whose IPVS table this handle programs. */
  netns?: string;
  /** Deadline for every netlink wait, in milliseconds (default 5000). */
  timeoutMs?: number;
  /**
   * Sockets (and threads) reading real servers in parallel during dump(): a netlink socket
   * holds one dump at a time. Default 2.
   */
  dumpSockets?: number;
  /**
   * Whole-table reads on this handle are background work: each runs on a thread of its own at
   * this nice value (0..19; default 0, the caller's priority), so that on a busy node the syncs'
   * writes and the event loop come first. The agent's background check reads at 10.
   */
  dumpNice?: number;
}

/** Entries decoded between looks at the clock in a sliced dump. */
const DECODE_STEP = 8;

class AddonIpvsClient implements IpvsClient {
  constructor(private readonly handle: NativeIpvsHandle) {}

  async info(): Promise<IpvsInfo> {
    const i = await native(this.handle.info());
    const v = i.version;
    return { version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`, connTableSize: i.connTableSize };
  }

  async dump(options: DumpOptions = {}): Promise<VirtualServerEntry[]> {
    const buf = await native(this.handle.dump());
    const counters = options.counters !== false;
    if (options.sliceMs === undefined) return decodeDump(buf, counters);
    const decoder = new DumpDecoder(buf, counters);
    const slices = new TimeSlices(options.sliceMs);
    const out: VirtualServerEntry[] = [];
    while (!decoder.done) {
      // Entries of a few real servers each: a handful at a time keeps the clock checks cheap.
      for (const e of decoder.next(DECODE_STEP)) out.push(e);
      if (slices.due()) await slices.turn();
    }
    return out;
  }

  /**
   * The real servers of one virtual server: what a drain check reads, instead of the whole table
   * (which holds this handle, and the syncs' writes behind it, for seconds at 10k services).
   * A missing virtual server has none, as the kernel answers.
   */
  async dumpReals(service: VirtualServerKey): Promise<RealServerStatus[]> {
    const [entry] = decodeDump(await native(this.handle.dumpReals(encodeServiceKey(service))));
    return entry?.reals ?? [];
  }

  async apply(ops: readonly IpvsOp[]): Promise<OpResult[]> {
    if (ops.length === 0) return [];
    return decodeResults(await native(this.handle.apply(encodeOps(ops))), ops.length);
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    return native(this.handle.getTimeouts());
  }

  async setTimeouts(t: IpvsTimeouts): Promise<void> {
    for (const [name, v] of Object.entries(t)) {
      if (!Number.isInteger(v) || v < 0) throw new TypeError(`timeout ${name} must be a non-negative integer`);
    }
    await native(this.handle.setTimeouts(t.tcp, t.tcpFin, t.udp));
  }

  async flush(): Promise<void> {
    await native(this.handle.flush());
  }

  async zero(): Promise<void> {
    await native(this.handle.zero());
  }

  close(): void {
    // Later calls reject at once; the sockets are released off-thread.
    this.handle.close().catch(() => undefined);
  }
}

/**
 * Opens a handle on the kernel's IPVS table. Rejects with IpvsUnavailableError when the kernel
 * has no IPVS (the ip_vs module is not loaded).
 */
export async function openIpvs(opts: OpenOptions = {}): Promise<IpvsClient> {
  const addon = loadNative();
  const handle = await native(addon.openIpvs(opts.netns, opts.timeoutMs ?? 5000, opts.dumpSockets ?? 2, opts.dumpNice ?? 0));
  return new AddonIpvsClient(handle);
}
