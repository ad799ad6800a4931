// Graceful termination of real servers (kube-proxy's graceful_termination.go, and kube-router's
// cap on the drain). A TCP real server that goes away is set to weight 0 by the diff; this tracker
// remembers it until its connections (ActiveConn + InActConn) reach 0 or the timeout runs out,
// then hands it back for deletion. UDP and SCTP real servers never drain: they are deleted at once
// and their conntrack entries flushed (kubernetes/kubernetes#71514). The tracker is pure
// bookkeeping; readDrainConnections() is the one read it needs.
import { realKey, serviceKey } from '../vocabulary/ipvs-keys.js';
import type { IpvsClient } from '../ipvs/types.js';
import type { RealServer, VirtualServerEntry, VirtualServerKey } from '../vocabulary/ipvs.js';

export interface DrainEntry {
  vsKey: string;
  realKey: string;
  service: VirtualServerKey;
  real: Pick<RealServer, 'family' | 'address' | 'port'>;
  /** Clock time after which the real server is deleted whatever its connections. */
  deadline: number;
}

function id(vsKey: string, realKey: string): string {
  return `${vsKey}|${realKey}`;
}

export class DrainTracker {
  private readonly entries = new Map<string, DrainEntry>();

  constructor(private readonly timeoutMs: number) {}

  start(vsKey: string, realKey: string, service: VirtualServerKey, real: DrainEntry['real'], now: number): void {
    if (this.entries.has(id(vsKey, realKey))) return;
    this.entries.set(id(vsKey, realKey), {
      vsKey,
      realKey,
      service,
      real: { family: real.family, address: real.address, port: real.port },
      deadline: now + this.timeoutMs,
    });
  }

  /** The real server is wanted again (or was deleted): stop draining it. */
  cancel(vsKey: string, realKey: string): void {
    this.entries.delete(id(vsKey, realKey));
  }

  /** The whole virtual server went away, with its real servers. */
  forgetService(vsKey: string): void {
    for (const [k, e] of this.entries) if (e.vsKey === vsKey) this.entries.delete(k);
  }

  forgetAll(): void {
    this.entries.clear();
  }

  isDraining(vsKey: string, realKey: string): boolean {
    return this.entries.has(id(vsKey, realKey));
  }

  get size(): number {
    return this.entries.size;
  }

  /** One entry per virtual server with draining real servers, to dump their counters. */
  services(): { vsKey: string; service: VirtualServerKey }[] {
    const seen = new Map<string, VirtualServerKey>();
    for (const e of this.entries.values()) seen.set(e.vsKey, e.service);
    return [...seen].map(([vsKey, service]) => ({ vsKey, service }));
  }

  /**
   * Real servers ready for deletion: no connections left, or past the deadline. `connections`
   * answers ActiveConn + InActConn, or undefined when the real server is no longer in the kernel
   * (deleted by hand): such entries are forgotten.
   */
  due(now: number, connections: (vsKey: string, realKey: string) => number | undefined): DrainEntry[] {
    const out: DrainEntry[] = [];
    for (const [k, e] of this.entries) {
      const conns = connections(e.vsKey, e.realKey);
      if (conns === undefined) this.entries.delete(k);
      else if (conns === 0 || now >= e.deadline) out.push(e);
    }
    return out;
  }

  /** Earliest deadline among draining real servers. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const e of this.entries.values()) if (min === undefined || e.deadline < min) min = e.deadline;
    return min;
  }
}

/** ActiveConn + InActConn of every real server in a dump, by "vsKey|realKey". */
export function connectionsOf(entries: readonly VirtualServerEntry[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of entries) {
    const k = serviceKey(e.service);
    for (const r of e.reals) out.set(`${k}|${realKey(r)}`, r.activeConns + r.inactiveConns);
  }
  return out;
}

/**
 * Connection counts of the draining real servers: one dump per draining virtual server, never the
 * whole table (a drain check runs every second while anything drains).
 */
export async function readDrainConnections(ipvs: IpvsClient, drains: DrainTracker): Promise<Map<string, number>> {
  const conns = new Map<string, number>();
  for (const { vsKey, service } of drains.services()) {
    // A virtual server deleted meanwhile has none: due() then forgets its drains.
    for (const r of await ipvs.dumpReals(service)) conns.set(`${vsKey}|${realKey(r)}`, r.activeConns + r.inactiveConns);
  }
  return conns;
}
