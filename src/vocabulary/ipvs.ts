// The words every layer shares about IPVS objects: families, protocols, flags, virtual and real
// servers as plain data, and the operations on them. Sources, the model, the proxier, the kernel
// clients and the status views all speak these; nothing here does I/O or knows Kubernetes.

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

/** What entries read without their counters share (frozen: no one may count into it). */
export const UNREAD_STATS: IpvsStats = Object.freeze({
  conns: 0n,
  inpkts: 0n,
  outpkts: 0n,
  inbytes: 0n,
  outbytes: 0n,
  cps: 0n,
  inpps: 0n,
  outpps: 0n,
  inbps: 0n,
  outbps: 0n,
});

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

export type IpvsOp =
  | { op: 'addService'; service: VirtualServer }
  | { op: 'updateService'; service: VirtualServer }
  | { op: 'deleteService'; service: VirtualServerKey }
  | { op: 'addReal'; service: VirtualServerKey; real: RealServer }
  | { op: 'updateReal'; service: VirtualServerKey; real: RealServer }
  | { op: 'deleteReal'; service: VirtualServerKey; real: Pick<RealServer, 'family' | 'address' | 'port'> };

/** The result of one operation of a batch: each operation succeeds or fails on its own. */
export type OpResult = { ok: true } | { ok: false; errno: number; code: string; message: string };
