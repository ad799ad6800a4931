// Desired state against applied (or freshly read) kernel state -> ordered batches of operations.
// Pure. Order matters to the kernel and to traffic: new virtual servers, then their real servers,
// then updates, then removal of stale real servers, then of stale virtual servers. Nothing is ever
// emitted for a key the ownership filter refuses.
import { keyOf, realKey, sameRealSettings, sameServiceSettings } from '../vocabulary/ipvs-keys.js';
import type { Family, IpvsOp, RealServer, VirtualServer } from '../vocabulary/ipvs.js';
import type { DesiredRealServer, DesiredVirtualServer, VipAddress } from '../model/types.js';

/** A virtual server as the proxier believes the kernel holds it (no counters, no HASHED). */
export interface AppliedVirtualServer {
  service: VirtualServer;
  /** By realKey(). */
  reals: Map<string, RealServer>;
}

export type AppliedTable = Map<string, AppliedVirtualServer>;

export type OpIntent = 'create' | 'update' | 'restore' | 'drain' | 'delete';

export interface PlannedOp {
  op: IpvsOp;
  vsKey: string;
  realKey?: string;
  intent: OpIntent;
}

export interface IpvsPlan {
  addServices: PlannedOp[];
  addReals: PlannedOp[];
  updates: PlannedOp[];
  deleteReals: PlannedOp[];
  deleteServices: PlannedOp[];
  /** Stale TCP real servers already at weight 0: they drain without a write. */
  drainWithoutWrite: { vsKey: string; realKey: string }[];
  /** Draining real servers wanted again whose kernel settings already match. */
  cancelDrains: { vsKey: string; realKey: string }[];
  /** Desired virtual servers the proxier may not touch (foreign or excluded key). */
  blocked: string[];
}

export interface DiffOptions {
  /** Only these serviceKey()s (incremental sync); all desired and applied keys when undefined. */
  keys?: Iterable<string>;
  mayTouch(key: string, s: Pick<VirtualServer, 'address'>): boolean;
  isDraining(vsKey: string, realKey: string): boolean;
  /** TCP real servers go to weight 0 and drain; false deletes them at once. */
  gracefulTcp: boolean;
}

/** The kernel-facing part of a desired real server. */
export function toRealServer(r: DesiredRealServer | RealServer): RealServer {
  const out: RealServer = {
    family: r.family,
    address: r.address,
    port: r.port,
    forward: r.forward,
    weight: r.weight,
    upperThreshold: r.upperThreshold,
    lowerThreshold: r.lowerThreshold,
  };
  if (r.tunnelType !== undefined) out.tunnelType = r.tunnelType;
  if (r.tunnelPort !== undefined) out.tunnelPort = r.tunnelPort;
  if (r.tunnelFlags !== undefined) out.tunnelFlags = r.tunnelFlags;
  return out;
}

/** UDP and SCTP real servers are deleted at once; TCP and firewall-mark ones may drain. */
export function drains(s: VirtualServer): boolean {
  return s.protocol === undefined || s.protocol === 'TCP';
}

export function emptyPlan(): IpvsPlan {
  return { addServices: [], addReals: [], updates: [], deleteReals: [], deleteServices: [], drainWithoutWrite: [], cancelDrains: [], blocked: [] };
}

export function planStages(p: IpvsPlan): PlannedOp[][] {
  return [p.addServices, p.addReals, p.updates, p.deleteReals, p.deleteServices];
}

export function diffVirtualServers(
  desired: ReadonlyMap<string, DesiredVirtualServer>,
  applied: ReadonlyMap<string, AppliedVirtualServer>,
  opts: DiffOptions,
): IpvsPlan {
  const plan = emptyPlan();
  const keys = opts.keys ?? new Set([...desired.keys(), ...applied.keys()]);
  for (const key of keys) {
    const want = desired.get(key);
    const have = applied.get(key);
    const service = want?.service ?? have?.service;
    if (!service) continue;
    if (!opts.mayTouch(key, service)) {
      if (want) plan.blocked.push(key);
      continue;
    }
    if (want && !have) planCreate(plan, key, want);
    else if (!want && have) plan.deleteServices.push({ op: { op: 'deleteService', service: keyOf(have.service) }, vsKey: key, intent: 'delete' });
    else if (want && have) planUpdate(plan, key, want, have, opts);
  }
  return plan;
}

function planCreate(plan: IpvsPlan, key: string, want: DesiredVirtualServer): void {
  plan.addServices.push({ op: { op: 'addService', service: want.service }, vsKey: key, intent: 'create' });
  const svc = keyOf(want.service);
  // The desired real server itself (it is a RealServer; the encoder reads only the kernel's
  // fields): the applied table then shares it instead of holding a copy of each of 100,000.
  for (const r of want.reals) {
    plan.addReals.push({ op: { op: 'addReal', service: svc, real: r }, vsKey: key, realKey: realKey(r), intent: 'create' });
  }
}

function planUpdate(plan: IpvsPlan, key: string, want: DesiredVirtualServer, have: AppliedVirtualServer, opts: DiffOptions): void {
  const svc = keyOf(want.service);
  if (!sameServiceSettings(want.service, have.service)) {
    plan.updates.push({ op: { op: 'updateService', service: want.service }, vsKey: key, intent: 'update' });
  }
  const wanted = new Set<string>();
  for (const r of want.reals) {
    const rk = realKey(r);
    wanted.add(rk);
    const current = have.reals.get(rk);
    const real = r;
    if (!current) {
      plan.addReals.push({ op: { op: 'addReal', service: svc, real }, vsKey: key, realKey: rk, intent: 'create' });
    } else if (!sameRealSettings(real, current)) {
      const intent = opts.isDraining(key, rk) ? 'restore' : 'update';
      plan.updates.push({ op: { op: 'updateReal', service: svc, real }, vsKey: key, realKey: rk, intent });
    } else if (opts.isDraining(key, rk)) {
      // Back in the desired state and already at the wanted settings: no write, the drain stops.
      plan.cancelDrains.push({ vsKey: key, realKey: rk });
    }
  }
  for (const [rk, current] of have.reals) {
    if (wanted.has(rk) || opts.isDraining(key, rk)) continue;
    if (opts.gracefulTcp && drains(want.service)) {
      if (current.weight === 0) plan.drainWithoutWrite.push({ vsKey: key, realKey: rk });
      else plan.updates.push({ op: { op: 'updateReal', service: svc, real: { ...current, weight: 0 } }, vsKey: key, realKey: rk, intent: 'drain' });
    } else {
      plan.deleteReals.push({
        op: { op: 'deleteReal', service: svc, real: { family: current.family, address: current.address, port: current.port } },
        vsKey: key,
        realKey: rk,
        intent: 'delete',
      });
    }
  }
}

export interface AppliedAddress {
  family: Family;
  prefixLen: number;
}

export interface AddressPlan {
  add: VipAddress[];
  remove: (VipAddress & { prefixLen: number })[];
  /** Desired VIPs not bound because another interface already holds them. */
  elsewhere: string[];
  /** Desired VIPs the proxier may not touch. */
  blocked: string[];
}

export interface AddressDiffOptions {
  keys?: Iterable<string>;
  mayTouch(address: string): boolean;
  /** Addresses on every interface but kube-ipvs0. */
  onOtherLinks: ReadonlySet<string>;
}

export function diffAddresses(desired: ReadonlyMap<string, VipAddress>, applied: ReadonlyMap<string, AppliedAddress>, opts: AddressDiffOptions): AddressPlan {
  const plan: AddressPlan = { add: [], remove: [], elsewhere: [], blocked: [] };
  const keys = opts.keys ?? new Set([...desired.keys(), ...applied.keys()]);
  for (const address of keys) {
    let want = desired.get(address);
    const have = applied.get(address);
    if (!opts.mayTouch(address)) {
      if (want && !have) plan.blocked.push(address);
      continue;
    }
    if (want && opts.onOtherLinks.has(address)) {
      plan.elsewhere.push(address);
      want = undefined;
    }
    if (want && !have) plan.add.push(want);
    else if (!want && have) plan.remove.push({ family: have.family, address, prefixLen: have.prefixLen });
  }
  return plan;
}

/** The host prefix length for a VIP: /32 or /128. */
export function hostPrefix(family: Family): number {
  return family === 'inet' ? 32 : 128;
}
