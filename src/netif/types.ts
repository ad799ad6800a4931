// The link client's interface (rtnetlink): implemented by the addon client and the test fake.
import type { OpResult } from '../vocabulary/ipvs.js';
import type { AddressOp, LinkAddress, LocalRoute, RouteOp } from '../vocabulary/addresses.js';

export interface LinkClient {
  /**
   * Create a dummy link named `name` if it does not exist, down like kube-proxy's (VIPs on it are
   * local all the same); an existing one keeps its state. A link of that name that is not a
   * dummy is someone else's: rejects with EEXIST and leaves it alone.
   */
  ensureDummyLink(name: string): Promise<{ ifindex: number; created: boolean; up: boolean }>;
  /**
   * Bring a dummy link up with IPv6 address generation off (no link-local address, hence no
   * duplicate address detection and no router solicitation); false when it was up already.
   * IPv6 local routes need their link up; IPv4 ones do not.
   */
  bringUpQuiet(name: string): Promise<boolean>;
  /** Index of a link by name, or undefined when there is none. */
  linkIndex(name: string): Promise<number | undefined>;
  /**
   * Delete a link by name; false when there was none. With `onlyKind` (e.g. 'dummy'), a link of
   * another kind is refused with EEXIST and left alone.
   */
  deleteLink(name: string, onlyKind?: string): Promise<boolean>;
  /** Every address of the host (one dump), or of one link when ifindex is given. */
  listAddresses(ifindex?: number): Promise<LinkAddress[]>;
  /** Add or delete addresses in as few round trips as possible; one result per operation. */
  applyAddresses(ops: readonly AddressOp[]): Promise<OpResult[]>;
  /** Local routes of table local through the link (both families; the kernel's for its addresses too). */
  listLocalRoutes(ifindex: number): Promise<LocalRoute[]>;
  /**
   * Add or delete the agent's local routes, batched like addresses; one result per operation.
   * EEXIST: the route is there; ESRCH: it is not; ENETDOWN: an IPv6 route on a down link.
   */
  applyRoutes(ops: readonly RouteOp[]): Promise<OpResult[]>;
  close(): void;
}
