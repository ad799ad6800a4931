// Plain types for IPVS virtual and real servers, shared by the addon client, the fake,
// the reconciler and the status views. Wire encoding lives in native/; nothing here does I/O.

export type Family = 'inet' | 'inet6';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type ForwardMethod = 'masq' | 'local' | 'tunnel' | 'route';

/** IP_VS_SVC_F_* bits from linux/ip_vs.h. */
export const SvcFlag = {
  PERSISTENT: 0x0001,
  HASHED: 0x0002, // set by the kernel on every service it returns: never compared
  ONEPACKET: 0x0004,
  SCHED1: 0x0008, // sh-fallback / mh-fallback
  SCHED2: 0x0010, // sh-port / mh-port
  SCHED3: 0x0020,
} as const;

/** What identifies a virtual server in the kernel: protocol+address+port, or a firewall mark. */
export type VirtualServerKey =
  | { family: Family; protocol: Protocol; address: string; port: number; fwmark?: undefined }
  | { family: Family; fwmark: number; protocol?: undefined; address?: undefined; port?: undefined };

export type VirtualServer = VirtualServerKey & {
  scheduler: string;
  /** IP_VS_SVC_F_* without HASHED. PERSISTENT is set when timeout > 0. */
  flags: number;
  /** Persistence timeout in seconds; 0 when not persistent. */
  timeout: number;
  /** Persistence netmask as a prefix length (0..32 for inet, 0..128 for inet6). */
  netmask: number;
  /** Persistence engine name, e.g. 'sip'; empty when none. */
  peName?: string;
};

export interface RealServer {
  family: Family;
  address: string;
  port: number;
  forward: ForwardMethod;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  /** IPIP tunnel encapsulation (kernel >= 5.2): 0 ipip, 1 gue, 2 gre. */
  tunnelType?: number;
  tunnelPort?: number;
  tunnelFlags?: number;
}

/** 64-bit counters and rates as the kernel reports them (IPVS_*_ATTR_STATS64). */
export interface IpvsStats {
  conns: bigint;
  inpkts: bigint;
  outpkts: bigint;
  inbytes: bigint;
  outbytes: bigint;
  cps: bigint;
  inpps: bigint;
  outpps: bigint;
  inbps: bigint;
  outbps: bigint;
}

export type VirtualServerStatus = VirtualServer & { stats: IpvsStats };

export type RealServerStatus = RealServer & {
  activeConns: number;
  inactiveConns: number;
  persistConns: number;
  stats: IpvsStats;
};

/** One virtual server and its real servers, as read from the kernel. */
export interface VirtualServerEntry {
  service: VirtualServerStatus;
  reals: RealServerStatus[];
}

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

export type IpvsOp =
  | { op: 'addService'; service: VirtualServer }
  | { op: 'updateService'; service: VirtualServer }
  | { op: 'deleteService'; service: VirtualServerKey }
  | { op: 'addReal'; service: VirtualServerKey; real: RealServer }
  | { op: 'updateReal'; service: VirtualServerKey; real: RealServer }
  | { op: 'deleteReal'; service: VirtualServerKey; real: Pick<RealServer, 'family' | 'address' | 'port'> };

/** The result of one operation of a batch: each operation succeeds or fails on its own. */
export type OpResult = { ok: true } | { ok: false; errno: number; code: string; message: string };

/** What entries read without their counters share (frozen: no one may count into it). */
export const UNREAD_STATS: IpvsStats = Object.freeze({
  conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n,
});

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
 * and by the in-memory fake (src/ipvs/fake.ts); one contract suite tests both.
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
