// Plain types for links and addresses (rtnetlink), shared by the addon client and the fake.
import type { Family, OpResult } from '../ipvs/types.js';

export interface LinkAddress {
  ifindex: number;
  ifname: string;
  family: Family;
  address: string;
  prefixLen: number;
}

export type AddressOp = { op: 'add' | 'delete'; ifindex: number; family: Family; address: string; prefixLen: number };

export interface LinkClient {
  /**
   * Create a dummy link named `name` if it does not exist, down like kube-proxy's (VIPs on it are
   * local all the same); an existing one keeps its state. A link of that name that is not a
   * dummy is someone else's: rejects with EEXIST and leaves it alone.
   */
  ensureDummyLink(name: string): Promise<{ ifindex: number; created: boolean }>;
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
  close(): void;
}
