// An in-memory IPVS table that answers like the kernel (net/netfilter/ipvs/ip_vs_ctl.c):
// the same errno for the same mistake, HASHED on every returned service, one result per
// operation. Used by unit tests of the proxier and by the contract suite that also runs
// against the addon, so every behaviour here mirrors something the kernel really does.
import { constants } from 'node:os';
import ipaddr from 'ipaddr.js';
import { HandleClosedError, netlinkErrorFor } from '../../src/native/errors.js';
import { realKey, serviceKey } from '../../src/vocabulary/ipvs-keys.js';
import {
  SvcFlag,
  UNREAD_STATS,
  type Family,
  type IpvsOp,
  type IpvsStats,
  type OpResult,
  type RealServer,
  type RealServerStatus,
  type VirtualServer,
  type VirtualServerEntry,
  type VirtualServerKey,
} from '../../src/vocabulary/ipvs.js';
import { type DumpOptions, type IpvsClient, type IpvsInfo, type IpvsTimeouts } from '../../src/ipvs/types.js';

/** Schedulers a stock Debian kernel ships as modules. */
export const KERNEL_SCHEDULERS: readonly string[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

/** What every method throws once close() was called: the addon's error for a closed handle. */
export function closedError(client: string, method: string): HandleClosedError {
  return new HandleClosedError(`the ${client} handle is closed (${method})`, errnoOf('EBADF'), 'EBADF', method);
}

/** Takes the first fault that `matches` and uses up one of its times: its code, or undefined. */
export function takeFault<F extends { code: string; times?: number }>(faults: F[], matches: (f: F) => boolean): string | undefined {
  const i = faults.findIndex(matches);
  if (i < 0) return undefined;
  const f = faults[i];
  f.times = (f.times ?? 1) - 1;
  if (f.times <= 0) faults.splice(i, 1);
  return f.code;
}

/** A fault to inject: operations matching `match` fail with `code` (`times` times; default once). */
export interface IpvsFault {
  match: (op: IpvsOp) => boolean;
  code: string;
  times?: number;
}

export function errnoOf(code: string): number {
  const n = (constants.errno as Record<string, number | undefined>)[code];
  if (n === undefined) throw new RangeError(`unknown errno code ${code}`);
  return n;
}

export function failure(code: string, message: string): OpResult {
  return { ok: false, errno: errnoOf(code), code, message };
}

const OK: OpResult = { ok: true };

/** Counters of the fake's own, which its traffic methods add to (UNREAD_STATS is frozen). */
function zeroStats(): IpvsStats {
  return { ...UNREAD_STATS };
}

/** Canonical text of an address of the given family, or undefined when it is not one. */
const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function canonicalAddress(family: Family, address: string): string | undefined {
  // Plain dotted quads are already canonical (and the common case by far).
  if (DOTTED_QUAD.test(address)) return family === 'inet' ? address : undefined;
  if (!ipaddr.isValid(address)) return undefined;
  const parsed = ipaddr.parse(address);
  if ((parsed.kind() === 'ipv4') !== (family === 'inet')) return undefined;
  return parsed.toString();
}

/** The settings of `s` under the canonical identity `key`; HASHED is the kernel's to set. */
function withKey(s: VirtualServer, key: VirtualServerKey): VirtualServer {
  const settings = { scheduler: s.scheduler, flags: s.flags & ~SvcFlag.HASHED, timeout: s.timeout, netmask: s.netmask };
  const withPe = s.peName ? { ...settings, peName: s.peName } : settings;
  return { ...key, ...withPe };
}

interface StoredService {
  service: VirtualServer;
  stats: IpvsStats;
  reals: Map<string, RealServerStatus>;
}

export class FakeIpvs implements IpvsClient {
  /** Netlink requests that would change the kernel (every apply() op, setTimeouts, flush, zero). */
  writes = 0;
  /** Dumps served (each one services dump plus one dump per service in the kernel). */
  dumps = 0;
  /** Per-service real server dumps served. */
  realDumps = 0;
  private readonly table = new Map<string, StoredService>();
  private timeouts: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  private readonly faults: IpvsFault[] = [];
  private dumpFaults: string[] = [];
  private closed = false;

  constructor(private readonly schedulers: readonly string[] = KERNEL_SCHEDULERS) {}

  async info(): Promise<IpvsInfo> {
    this.assertOpen('info');
    return { version: '1.2.1', connTableSize: 4096 };
  }

  /** The fake copies its table at once: `sliceMs` bounds a decode the fake does not have. */
  async dump(options: DumpOptions = {}): Promise<VirtualServerEntry[]> {
    this.assertOpen('dump');
    const fault = this.dumpFaults.shift();
    if (fault !== undefined) throw netlinkErrorFor(fault, errnoOf(fault), 'dump', `dump: ${fault} (injected fault)`);
    this.dumps++;
    const stats = options.counters === false ? (): IpvsStats => UNREAD_STATS : (from: IpvsStats): IpvsStats => ({ ...from });
    return [...this.table.values()].map((s) => ({
      service: { ...s.service, flags: s.service.flags | SvcFlag.HASHED, stats: stats(s.stats) },
      reals: [...s.reals.values()].map((r) => ({ ...r, stats: stats(r.stats) })),
    }));
  }

  /**
   * The real servers of one virtual server (one IPVS_CMD_GET_DEST dump), for drain checks that
   * need no full table read (contract: test/kernel/contract-ipvs.test.ts).
   */
  async dumpReals(service: VirtualServerKey): Promise<RealServerStatus[]> {
    this.assertOpen('dumpReals');
    const key = this.canonicalKey(service);
    const stored = key && this.table.get(serviceKey(key));
    this.realDumps++;
    // The kernel answers a dump for a missing virtual server with no real servers, not an error.
    if (!stored) return [];
    return [...stored.reals.values()].map((r) => ({ ...r, stats: { ...r.stats } }));
  }

  async apply(ops: readonly IpvsOp[]): Promise<OpResult[]> {
    this.assertOpen('apply');
    return ops.map((op) => {
      this.writes++;
      const injected = takeFault(this.faults, (f) => f.match(op));
      if (injected) return failure(injected, `injected fault on ${op.op}`);
      return this.applyOne(op);
    });
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    this.assertOpen('getTimeouts');
    return { ...this.timeouts };
  }

  async setTimeouts(t: IpvsTimeouts): Promise<void> {
    this.assertOpen('setTimeouts');
    this.writes++;
    this.timeouts = {
      tcp: t.tcp || this.timeouts.tcp,
      tcpFin: t.tcpFin || this.timeouts.tcpFin,
      udp: t.udp || this.timeouts.udp,
    };
  }

  async flush(): Promise<void> {
    this.assertOpen('flush');
    this.writes++;
    this.table.clear();
  }

  async zero(): Promise<void> {
    this.assertOpen('zero');
    this.writes++;
    for (const s of this.table.values()) {
      s.stats = zeroStats();
      for (const r of s.reals.values()) r.stats = zeroStats();
    }
  }

  close(): void {
    this.closed = true;
  }

  // ---- test controls (not part of IpvsClient) ----

  /** Make matching operations fail with `code`. */
  injectFault(fault: IpvsFault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Make the next dump() throw the addon's typed error for this code (e.g. 'ENOBUFS': StateUnknownError). */
  injectDumpFault(code: string): void {
    errnoOf(code);
    this.dumpFaults.push(code);
  }

  /** Set the connection counters of a real server, as traffic would. */
  setConnections(svc: VirtualServerKey, real: Pick<RealServer, 'address' | 'port'>, active: number, inactive: number): void {
    const stored = this.table.get(serviceKey(this.canonicalKey(svc) ?? svc));
    const r = stored?.reals.get(realKey(real));
    if (!r) throw new RangeError(`no real server ${realKey(real)} in ${serviceKey(svc)}`);
    r.activeConns = active;
    r.inactiveConns = inactive;
  }

  /** Number of virtual servers in the table. */
  get size(): number {
    return this.table.size;
  }

  private assertOpen(method: string): void {
    if (this.closed) throw closedError('IPVS', method);
  }

  private canonicalKey(k: VirtualServerKey): VirtualServerKey | undefined {
    if (k.fwmark !== undefined) return { family: k.family, fwmark: k.fwmark };
    const address = canonicalAddress(k.family, k.address);
    if (address === undefined) return undefined;
    return { family: k.family, protocol: k.protocol, address, port: k.port };
  }

  private applyOne(op: IpvsOp): OpResult {
    const key = this.canonicalKey(op.service);
    if (!key) return failure('EINVAL', `invalid ${op.service.family} address`);
    const id = serviceKey(key);
    const stored = this.table.get(id);
    if (op.op === 'addService') {
      if (stored) return failure('EEXIST', `service ${id} already exists`);
      const checked = this.checkService(op.service);
      if (checked) return checked;
      this.table.set(id, { service: withKey(op.service, key), stats: zeroStats(), reals: new Map() });
      return OK;
    }
    // The kernel looks the service up first for every other command: ESRCH when missing.
    if (!stored) return failure('ESRCH', `no such service ${id}`);
    switch (op.op) {
      case 'updateService': {
        const checked = this.checkService(op.service);
        if (checked) return checked;
        stored.service = withKey(op.service, key);
        return OK;
      }
      case 'deleteService':
        this.table.delete(id);
        return OK;
      case 'addReal':
      case 'updateReal': {
        const address = canonicalAddress(op.real.family, op.real.address);
        if (address === undefined) return failure('EINVAL', `invalid real server address ${op.real.address}`);
        // Mixed-family real servers are only allowed with tunnel forwarding.
        if (op.real.family !== stored.service.family && op.real.forward !== 'tunnel') {
          return failure('EINVAL', 'mixed family real server needs tunnel forwarding');
        }
        if (op.real.weight < 0) return failure('ERANGE', 'weight below zero');
        if (op.real.lowerThreshold > op.real.upperThreshold) return failure('ERANGE', 'lower threshold above upper threshold');
        const rk = realKey({ address, port: op.real.port });
        const existing = stored.reals.get(rk);
        if (op.op === 'addReal') {
          if (existing) return failure('EEXIST', `real server ${rk} already exists in ${id}`);
          stored.reals.set(rk, { ...op.real, address, activeConns: 0, inactiveConns: 0, persistConns: 0, stats: zeroStats() });
        } else {
          if (!existing) return failure('ENOENT', `no real server ${rk} in ${id}`);
          stored.reals.set(rk, { ...existing, ...op.real, address });
        }
        return OK;
      }
      case 'deleteReal': {
        const address = canonicalAddress(op.real.family, op.real.address);
        if (address === undefined) return failure('EINVAL', `invalid real server address ${op.real.address}`);
        const rk = realKey({ address, port: op.real.port });
        if (!stored.reals.delete(rk)) return failure('ENOENT', `no real server ${rk} in ${id}`);
        return OK;
      }
    }
  }

  private checkService(s: VirtualServer): OpResult | undefined {
    if (!this.schedulers.includes(s.scheduler)) return failure('ENOENT', `scheduler ${s.scheduler} not found`);
    const maxMask = s.family === 'inet' ? 32 : 128;
    if (s.netmask < 0 || s.netmask > maxMask) return failure('EINVAL', `netmask /${s.netmask} out of range`);
    if (s.timeout < 0) return failure('EINVAL', 'negative persistence timeout');
    return undefined;
  }
}
