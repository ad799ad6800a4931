// One pass, planned: from the desired state, the applied tables and what is owned, the claims to
// record before any kernel write, the IPVS plan, the address plan and the iptables delta. Pure,
// like diff.ts: the proxier's executor runs the result.
import { realKey } from '../vocabulary/ipvs-keys.js';
import type { VirtualServer } from '../vocabulary/ipvs.js';
import type { DesiredState } from '../model/types.js';
import { diffAddresses, diffVirtualServers, type AddressPlan, type AppliedAddress, type AppliedVirtualServer, type IpvsPlan, type PlannedOp } from './diff.js';
import type { DrainEntry } from './graceful.js';
import type { ChangedKeys } from './types.js';

export interface PassInputs {
  state: DesiredState;
  /** The changed keys of an incremental pass; undefined: every key (a full pass). */
  vsKeys: ReadonlySet<string> | undefined;
  addrKeys: ReadonlySet<string> | undefined;
  applied: ReadonlyMap<string, AppliedVirtualServer>;
  appliedAddresses: ReadonlyMap<string, AppliedAddress>;
  /** Addresses on every interface but kube-ipvs0. */
  onOtherLinks: ReadonlySet<string>;
  ownership: {
    readonly virtualServers: ReadonlySet<string>;
    readonly addresses: ReadonlySet<string>;
    mayTouchService(key: string, s: Pick<VirtualServer, 'address'>): boolean;
    mayTouchAddress(address: string): boolean;
  };
  isDraining(vsKey: string, realKey: string): boolean;
  /** TCP real servers go to weight 0 and drain; false deletes them at once. */
  gracefulTcp: boolean;
  /** Draining real servers whose connections reached 0 or whose time ran out. */
  due: readonly DrainEntry[];
}

/** Keys this pass creates that are not yet owned: on the record before the first kernel write. */
export interface PassClaims {
  virtualServers: string[];
  addresses: string[];
}

/** What the iptables side is asked to do: its rules follow from the state and these keys. */
export interface IptablesDelta {
  /** False when the pass changes nothing iptables could depend on. */
  sync: boolean;
  /** The keys to resync; undefined: everything. */
  changed: ChangedKeys | undefined;
  /**
   * Before IPVS: a new virtual server must not take traffic before the rules and set entries it
   * depends on (NodePort SNAT): an unmasqueraded reply from a remote pod bypasses this node and
   * breaks the connection. Otherwise beside IPVS.
   */
  first: boolean;
}

export interface PassPlan {
  claims: PassClaims;
  ipvs: IpvsPlan;
  addresses: AddressPlan;
  iptables: IptablesDelta;
  /** Due drains no longer in the applied table (deleted by someone else): forgotten, no write. */
  staleDrains: { vsKey: string; realKey: string }[];
}

/** Deletes for due drains, skipping those wanted again (the diff restores them) and stale ones. */
export function planDrainDeletes(
  due: readonly DrainEntry[],
  applied: ReadonlyMap<string, AppliedVirtualServer>,
  state: DesiredState | undefined,
): { deleteReals: PlannedOp[]; stale: { vsKey: string; realKey: string }[] } {
  const deleteReals: PlannedOp[] = [];
  const stale: { vsKey: string; realKey: string }[] = [];
  for (const e of due) {
    if (state?.virtualServers.get(e.vsKey)?.reals.some((r) => realKey(r) === e.realKey)) continue;
    if (!applied.get(e.vsKey)?.reals.has(e.realKey)) {
      stale.push({ vsKey: e.vsKey, realKey: e.realKey });
      continue;
    }
    deleteReals.push({ op: { op: 'deleteReal', service: e.service, real: e.real }, vsKey: e.vsKey, realKey: e.realKey, intent: 'delete' });
  }
  return { deleteReals, stale };
}

export function planPass(inp: PassInputs): PassPlan {
  const { ownership } = inp;
  const ipvs = diffVirtualServers(inp.state.virtualServers, inp.applied, {
    keys: inp.vsKeys,
    mayTouch: (k, s) => ownership.mayTouchService(k, s),
    isDraining: (k, rk) => inp.isDraining(k, rk),
    gracefulTcp: inp.gracefulTcp,
  });
  const drainDeletes = planDrainDeletes(inp.due, inp.applied, inp.state);
  ipvs.deleteReals.push(...drainDeletes.deleteReals);
  const addresses = diffAddresses(inp.state.addresses, inp.appliedAddresses, {
    keys: inp.addrKeys,
    mayTouch: (a) => ownership.mayTouchAddress(a),
    onOtherLinks: inp.onOtherLinks,
  });
  const claimedVs = new Set<string>();
  for (const stage of [ipvs.addServices, ipvs.addReals]) {
    for (const p of stage) if (!ownership.virtualServers.has(p.vsKey)) claimedVs.add(p.vsKey);
  }
  const claims: PassClaims = {
    virtualServers: [...claimedVs],
    addresses: addresses.add.map((a) => a.address).filter((a) => !ownership.addresses.has(a)),
  };
  const full = inp.vsKeys === undefined;
  const changed = full || (inp.vsKeys?.size ?? 0) > 0 || (inp.addrKeys?.size ?? 0) > 0;
  const iptables: IptablesDelta = {
    sync: changed,
    changed: inp.vsKeys !== undefined && inp.addrKeys !== undefined ? { virtualServers: inp.vsKeys, addresses: inp.addrKeys } : undefined,
    first: ipvs.addServices.length > 0,
  };
  return { claims, ipvs, addresses, iptables, staleDrains: drainDeletes.stale };
}
