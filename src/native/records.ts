// The compact binary records exchanged with the addon (native/records.h): op records in,
// dump and failure records out. One Buffer decoded here by V8-compiled code is far cheaper than
// building 100,000 objects property by property through N-API. Little-endian on both sides;
// strings are a u8 length followed by latin1 bytes, and a longer string is an error on both
// sides; texts (failure messages, which may quote a whole address) are a u16 length and bytes.
//
// One layout of keys and settings for every record:
//   key:              u8 af | u8 proto (0 = fwmark) | u16 port | u32 fwmark | str addr
//   service settings: str sched | u32 flags | u32 timeout | u32 netmask | str pe
//   real key:         u8 af | str addr | u16 port
//   real settings:    u8 forward | u32 weight | u32 uthresh | u32 lthresh | u8 hasTun | u8 tunType | u16 tunPort | u16 tunFlags
//   link address:     u32 ifindex | u8 af | str addr | u8 prefixLen
// op:   u32 count, then per op: u8 kind | key | [add/updateService: service settings]
//       | [real ops: real key] | [add/updateReal: real settings]
// key record (one virtual server, for a per-service dump): key
// dump: u32 count, then per service: key | service settings | 10 x u64 stats | u32 nreals,
//       then per real: real key | real settings | u32 active | u32 inactive | u32 persist | 10 x u64 stats
// link op (address and local-route ops alike): u32 count, then per op: u8 kind (1 add, 2 delete) | link address
// address dump: u32 count, then per address: link address | str ifname
// route dump: u32 count, then per route: link address | u8 protocol | u8 ours
// failures (of any apply): u32 count, then per failed op: u32 index | u32 errno | str code | text message
import type {
  Family,
  ForwardMethod,
  IpvsOp,
  IpvsStats,
  OpResult,
  Protocol,
  RealServer,
  RealServerStatus,
  VirtualServer,
  VirtualServerEntry,
  VirtualServerKey,
  VirtualServerStatus,
} from '../vocabulary/ipvs.js';
import { UNREAD_STATS } from '../vocabulary/ipvs.js';
import type { AddressOp, LinkAddress, LocalRoute } from '../vocabulary/addresses.js';

function afOf(family: Family): number {
  if (family === 'inet') return 2;
  if (family === 'inet6') return 10;
  throw new TypeError(`unknown family ${String(family)}`);
}
const PROTO: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const FORWARD: Record<ForwardMethod, number> = { masq: 0, local: 1, tunnel: 2, route: 3 };
const KIND: Record<IpvsOp['op'], number> = {
  addService: 1,
  updateService: 2,
  deleteService: 3,
  addReal: 4,
  updateReal: 5,
  deleteReal: 6,
};
/** Forwarding methods by their record number (the inverse of FORWARD). */
export const FORWARD_OF: readonly ForwardMethod[] = ['masq', 'local', 'tunnel', 'route'];

export function familyOf(af: number): Family {
  if (af === 2) return 'inet';
  if (af === 10) return 'inet6';
  throw new RangeError(`unknown address family ${af} in native record`);
}

function protocolOf(p: number): Protocol {
  if (p === 6) return 'TCP';
  if (p === 17) return 'UDP';
  if (p === 132) return 'SCTP';
  throw new RangeError(`unknown protocol ${p} in native record`);
}

// Bytes are stored one by one: Buffer's write helpers and latin1 string writes cross into C++
// per call, which made encoding 110,000 operations cost 250 ms natively (seconds under emulation).
class Writer {
  private buf: Uint8Array;
  private off = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
  }

  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.off + n));
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.off++] = v;
  }
  u16(v: number): void {
    this.room(2);
    const b = this.buf;
    b[this.off++] = v & 0xff;
    b[this.off++] = v >>> 8;
  }
  u32(v: number): void {
    this.room(4);
    const b = this.buf;
    b[this.off++] = v & 0xff;
    b[this.off++] = (v >>> 8) & 0xff;
    b[this.off++] = (v >>> 16) & 0xff;
    b[this.off++] = v >>> 24;
  }
  str(s: string, what: string): void {
    const len = s.length;
    if (len > 255) throw new TypeError(`${what} is too long (${len} bytes)`);
    this.room(len + 1);
    const b = this.buf;
    let o = this.off;
    b[o++] = len;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw new TypeError(`${what} has a character outside latin1: ${JSON.stringify(s)}`);
      b[o++] = c;
    }
    this.off = o;
  }
  patchU32(at: number, v: number): void {
    const b = this.buf;
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = (v >>> 16) & 0xff;
    b[at + 3] = v >>> 24;
  }
  finish(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.off);
  }
}

function checkInt(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new TypeError(`${what} must be an integer in 0..${max}, got ${v}`);
  return v;
}

function writeKey(w: Writer, k: VirtualServerKey): void {
  w.u8(afOf(k.family));
  if (k.fwmark !== undefined) {
    w.u8(0);
    w.u16(0);
    w.u32(checkInt(k.fwmark, 0xffffffff, 'fwmark'));
    w.str('', 'address');
  } else {
    const proto = PROTO[k.protocol];
    if (proto === undefined) throw new TypeError(`unknown protocol ${String(k.protocol)}`);
    w.u8(proto);
    w.u16(checkInt(k.port, 0xffff, 'port'));
    w.u32(0);
    w.str(k.address, 'address');
  }
}

function writeServiceSettings(w: Writer, s: VirtualServer): void {
  w.str(s.scheduler, 'scheduler');
  w.u32(checkInt(s.flags, 0xffffffff, 'flags'));
  w.u32(checkInt(s.timeout, 0xffffffff, 'timeout'));
  w.u32(checkInt(s.netmask, 128, 'netmask'));
  w.str(s.peName ?? '', 'peName');
}

function writeRealKey(w: Writer, r: Pick<RealServer, 'family' | 'address' | 'port'>): void {
  w.u8(afOf(r.family));
  w.str(r.address, 'address');
  w.u16(checkInt(r.port, 0xffff, 'port'));
}

function writeRealSettings(w: Writer, r: RealServer): void {
  const fwd = FORWARD[r.forward];
  if (fwd === undefined) throw new TypeError(`unknown forwarding method ${String(r.forward)}`);
  w.u8(fwd);
  w.u32(checkInt(r.weight, 0x7fffffff, 'weight'));
  w.u32(checkInt(r.upperThreshold, 0xffffffff, 'upperThreshold'));
  w.u32(checkInt(r.lowerThreshold, 0xffffffff, 'lowerThreshold'));
  const hasTun = r.tunnelType !== undefined;
  w.u8(hasTun ? 1 : 0);
  w.u8(hasTun ? checkInt(r.tunnelType ?? 0, 0xff, 'tunnelType') : 0);
  w.u16(checkInt(r.tunnelPort ?? 0, 0xffff, 'tunnelPort'));
  w.u16(checkInt(r.tunnelFlags ?? 0, 0xffff, 'tunnelFlags'));
}

/** Encodes operations; a malformed field (not a bad address: that is the kernel's EINVAL) throws TypeError. */
export function encodeOps(ops: readonly IpvsOp[]): Buffer {
  // About 55 bytes per operation with IPv4 addresses: one allocation in the common case.
  const w = new Writer(4 + ops.length * 64);
  w.u32(ops.length);
  for (const op of ops) {
    const kind = KIND[op.op];
    if (kind === undefined) throw new TypeError(`unknown IPVS operation ${String((op as { op: unknown }).op)}`);
    w.u8(kind);
    writeKey(w, op.service);
    if (op.op === 'addService' || op.op === 'updateService') writeServiceSettings(w, op.service);
    if (op.op === 'addReal' || op.op === 'updateReal' || op.op === 'deleteReal') writeRealKey(w, op.real);
    if (op.op === 'addReal' || op.op === 'updateReal') writeRealSettings(w, op.real);
  }
  return w.finish();
}

const LINK_KIND: Record<AddressOp['op'], number> = { add: 1, delete: 2 };

/**
 * Encodes address or local-route operations (one layout for both). A malformed field throws
 * TypeError; an address that does not parse or a prefix beyond its family's fails its own
 * operation with EINVAL, as in IPVS op records.
 */
export function encodeLinkOps(ops: readonly AddressOp[]): Buffer {
  // About 20 bytes per operation with IPv4 addresses.
  const w = new Writer(4 + ops.length * 24);
  w.u32(ops.length);
  for (const op of ops) {
    const kind = Object.hasOwn(LINK_KIND, op.op) ? LINK_KIND[op.op] : undefined;
    if (kind === undefined) throw new TypeError(`unknown link operation ${String((op as { op: unknown }).op)}`);
    w.u8(kind);
    w.u32(checkInt(op.ifindex, 0x7fffffff, 'ifindex'));
    w.u8(afOf(op.family));
    w.str(op.address, 'address');
    w.u8(checkInt(op.prefixLen, 0xff, 'prefixLen'));
  }
  return w.finish();
}

/** One virtual server's key, laid out as at the start of an op record (for a per-service dump). */
export function encodeServiceKey(key: VirtualServerKey): Buffer {
  const w = new Writer(64);
  writeKey(w, key);
  return w.finish();
}

/**
 * Reads the records' little-endian fields in order; the dump decoder's, and the tests' for op
 * records. Bytes are read one by one, for the reason the Writer writes them so: Buffer's read
 * helpers check their arguments and strings cross into C++ on every call, and a dump of
 * 10,000 x 10 makes some three million reads.
 */
export class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    if (this.off >= this.buf.length) throw new RangeError('native record overruns its buffer');
    return this.buf[this.off++];
  }
  u16(): number {
    const b = this.buf;
    const o = this.off;
    if (o + 2 > b.length) throw new RangeError('native record overruns its buffer');
    this.off = o + 2;
    return b[o] | (b[o + 1] << 8);
  }
  u32(): number {
    const b = this.buf;
    const o = this.off;
    if (o + 4 > b.length) throw new RangeError('native record overruns its buffer');
    this.off = o + 4;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
  }
  u64(): bigint {
    // A dump holds ten counters per object, most of them small or zero: building the bigint
    // from one 32-bit half (or not at all) is several times cheaper than readBigUInt64LE.
    const lo = this.u32();
    const hi = this.u32();
    if (hi === 0) return lo === 0 ? 0n : BigInt(lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  skip(n: number): void {
    if (this.off + n > this.buf.length) throw new RangeError('native record overruns its buffer');
    this.off += n;
  }
  str(): string {
    const n = this.u8();
    const b = this.buf;
    const o = this.off;
    if (o + n > b.length) throw new RangeError('native record string overruns its buffer');
    this.off = o + n;
    // Addresses and scheduler names are short: built here they cost less than a call into C++.
    if (n <= 24) {
      let s = '';
      for (let i = o; i < o + n; i++) s += String.fromCharCode(b[i]);
      return s;
    }
    return b.toString('latin1', o, o + n);
  }
  text(): string {
    const n = this.u16();
    if (this.off + n > this.buf.length) throw new RangeError('native record text overruns its buffer');
    const s = this.buf.toString('latin1', this.off, this.off + n);
    this.off += n;
    return s;
  }
  get done(): boolean {
    return this.off === this.buf.length;
  }
}

const STATS_BYTES = 80;

function readStats(r: Reader, counters: boolean): IpvsStats {
  if (!counters) {
    r.skip(STATS_BYTES);
    return UNREAD_STATS;
  }
  return {
    conns: r.u64(),
    inpkts: r.u64(),
    outpkts: r.u64(),
    inbytes: r.u64(),
    outbytes: r.u64(),
    cps: r.u64(),
    inpps: r.u64(),
    outpps: r.u64(),
    inbps: r.u64(),
    outbps: r.u64(),
  };
}

export function readTunnel(r: Reader): Pick<RealServer, 'tunnelType' | 'tunnelPort' | 'tunnelFlags'> {
  const hasTun = r.u8() !== 0;
  const tunnelType = r.u8();
  const tunnelPort = r.u16();
  const tunnelFlags = r.u16();
  return hasTun ? { tunnelType, tunnelPort, tunnelFlags } : {};
}

export function readKey(r: Reader): VirtualServerKey {
  const family = familyOf(r.u8());
  const proto = r.u8();
  const port = r.u16();
  const fwmark = r.u32();
  const address = r.str();
  return proto === 0 ? { family, fwmark } : { family, protocol: protocolOf(proto), address, port };
}

function withPe<T extends object>(o: T, pe: string): T & { peName?: string } {
  return pe ? { ...o, peName: pe } : o;
}

/**
 * Decodes dump records a slice at a time (flags as the kernel reports them, HASHED included): a
 * verification in the background decodes 10,000 entries in slices so that syncs run between
 * them instead of waiting seconds (under emulation) for the whole dump.
 */
export class DumpDecoder {
  private readonly r: Reader;
  readonly count: number;
  private decoded = 0;

  /** With `counters` false the stats are skipped (see DumpOptions.counters). */
  constructor(
    buf: Buffer,
    private readonly counters = true,
  ) {
    this.r = new Reader(buf);
    this.count = this.r.u32();
  }

  get done(): boolean {
    return this.decoded === this.count;
  }

  /** Up to `max` more entries; the last slice also checks that nothing trails the records. */
  next(max: number): VirtualServerEntry[] {
    const r = this.r;
    const n = Math.min(max, this.count - this.decoded);
    const out: VirtualServerEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      // The layout of an addService record, then the counters.
      const key = readKey(r);
      const scheduler = r.str();
      const flags = r.u32();
      const timeout = r.u32();
      const netmask = r.u32();
      const pe = r.str();
      const stats = readStats(r, this.counters);
      const service = withPe({ ...key, scheduler, flags, timeout, netmask, stats }, pe) as VirtualServerStatus;
      const nreals = r.u32();
      const reals: RealServerStatus[] = new Array(nreals);
      for (let j = 0; j < nreals; j++) {
        // The layout of an addReal record's real server, then its connections and counters.
        const family = familyOf(r.u8());
        const address = r.str();
        const port = r.u16();
        const forward = FORWARD_OF[r.u8()];
        if (forward === undefined) throw new RangeError('unknown forwarding method in native record');
        const weight = r.u32();
        const upperThreshold = r.u32();
        const lowerThreshold = r.u32();
        const tunnel = readTunnel(r);
        const activeConns = r.u32();
        const inactiveConns = r.u32();
        const persistConns = r.u32();
        reals[j] = {
          family,
          address,
          port,
          forward,
          weight,
          upperThreshold,
          lowerThreshold,
          ...tunnel,
          activeConns,
          inactiveConns,
          persistConns,
          stats: readStats(r, this.counters),
        };
      }
      out[i] = { service, reals };
    }
    this.decoded += n;
    if (this.done && !r.done) throw new RangeError('trailing bytes after the dump records');
    return out;
  }
}

function readLinkAddress(r: Reader): Pick<LinkAddress, 'ifindex' | 'family' | 'address' | 'prefixLen'> {
  const ifindex = r.u32();
  const family = familyOf(r.u8());
  const address = r.str();
  const prefixLen = r.u8();
  return { ifindex, family, address, prefixLen };
}

/** Decodes address dump records. */
export function decodeAddresses(buf: Buffer): LinkAddress[] {
  const r = new Reader(buf);
  const out: LinkAddress[] = new Array(r.u32());
  for (let i = 0; i < out.length; i++) {
    const a = readLinkAddress(r);
    out[i] = { ifindex: a.ifindex, ifname: r.str(), family: a.family, address: a.address, prefixLen: a.prefixLen };
  }
  if (!r.done) throw new RangeError('trailing bytes after the address records');
  return out;
}

/** Decodes local-route dump records. */
export function decodeLocalRoutes(buf: Buffer): LocalRoute[] {
  const r = new Reader(buf);
  const out: LocalRoute[] = new Array(r.u32());
  for (let i = 0; i < out.length; i++) {
    const a = readLinkAddress(r);
    const protocol = r.u8();
    out[i] = { ...a, protocol, ours: r.u8() !== 0 };
  }
  if (!r.done) throw new RangeError('trailing bytes after the route records');
  return out;
}

const OK: OpResult = { ok: true };

/** Decodes the failure records of a batch of `count` operations into one result per operation. */
export function decodeResults(buf: Buffer, count: number): OpResult[] {
  const r = new Reader(buf);
  const results: OpResult[] = new Array<OpResult>(count).fill(OK);
  const failures = r.u32();
  for (let i = 0; i < failures; i++) {
    const index = r.u32();
    if (index >= count) throw new RangeError(`failure record for operation ${index} of a batch of ${count}`);
    const errno = r.u32();
    const code = r.str();
    results[index] = { ok: false, errno, code, message: r.text() };
  }
  if (!r.done) throw new RangeError('trailing bytes after the failure records');
  return results;
}

/** Decodes dump records into entries, all at once. */
export function decodeDump(buf: Buffer, counters = true): VirtualServerEntry[] {
  const d = new DumpDecoder(buf, counters);
  return d.next(d.count);
}
