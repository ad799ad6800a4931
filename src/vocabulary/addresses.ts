// Addresses and local routes as plain data (rtnetlink's objects), shared by the link client, the
// model (the node's addresses) and the proxier (the VIPs it binds).
import type { Family } from './ipvs.js';

export interface LinkAddress {
  ifindex: number;
  ifname: string;
  family: Family;
  address: string;
  prefixLen: number;
}

export type AddressOp = { op: 'add' | 'delete'; ifindex: number; family: Family; address: string; prefixLen: number };

/**
 * A `local` route of table local through a link: what makes an address local to the node
 * without binding it (`ip route add local VIP dev kube-ipvs0 table local`).
 */
export interface LocalRoute {
  ifindex: number;
  family: Family;
  address: string;
  prefixLen: number;
  /** Routing protocol number; 2 (kernel) for the route the kernel keeps for an address. */
  protocol: number;
  /** The agent's own route (protocol 201, metric 1024, see native/rtnl_wire.h). */
  ours: boolean;
}

/** Add or delete one of the agent's local routes (prefixLen is the route's: 32 or 128 for a VIP). */
export type RouteOp = AddressOp;
