// The IPVS kernel client's interface and the kernel-wide facts it reads. The objects it moves are
// the shared vocabulary (src/vocabulary/ipvs.ts); wire encoding lives in native/.
import type { IpvsOp, OpResult, RealServerStatus, VirtualServerEntry, VirtualServerKey } from '../vocabulary/ipvs.js';

export interface IpvsInfo {
  /** e.g. "1.2.1" */
  version: string;
  connTableSize: number;
}

export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

export interface DumpOptions {
  /**
   * Decode for at most about this many milliseconds at a time, turning the event loop between:
   * a background read of 10,000 virtual servers then never holds other work for long. A budget
   * of time rather than of entries: the same count of entries costs ten times more under
   * emulation. Default: all at once.
   */
  sliceMs?: number;
  /**
   * Decode the traffic counters (default true). A read that only compares the table (a check, a
   * start) passes false: the counters are a third of a dump's bytes and most of its decoding,
   * and every entry then shares one zeroed, frozen stats object.
   */
  counters?: boolean;
}

/**
 * A handle on the kernel's IPVS table. Implemented by the addon client (src/ipvs/client.ts)
 * and by the in-memory fake (test/support/fake-ipvs.ts); one contract suite tests both.
 */
export interface IpvsClient {
  info(): Promise<IpvsInfo>;
  /** Every virtual server with its real servers: one services dump plus one dump per service. */
  dump(options?: DumpOptions): Promise<VirtualServerEntry[]>;
  /** The real servers of one virtual server (one IPVS_CMD_GET_DEST dump); none if it is missing. */
  dumpReals(service: VirtualServerKey): Promise<RealServerStatus[]>;
  /** Apply operations in as few round trips as the buffers allow; one result per operation, in order. */
  apply(ops: readonly IpvsOp[]): Promise<OpResult[]>;
  getTimeouts(): Promise<IpvsTimeouts>;
  /** 0 leaves a timeout unchanged, as with `ipvsadm --set`. */
  setTimeouts(t: IpvsTimeouts): Promise<void>;
  flush(): Promise<void>;
  zero(): Promise<void>;
  close(): void;
}
