// Contracts of the proxier: its injectable dependencies and what each of its passes reports.
import type { Settings } from '../config/settings.js';
import type { IpvsClient } from '../ipvs/types.js';
import type { Protocol } from '../vocabulary/ipvs.js';
import type { DesiredState } from '../model/types.js';
import type { LinkClient } from '../netif/types.js';
import type { StateRecord } from './state-record.js';
import type { VipFillPacing, VipFillReport, VipMode } from './vips.js';

/** Time and timers, injectable so tests can run the runner and draining on a fake clock. */
export interface Clock {
  /** Milliseconds, monotonic: for durations and deadlines. */
  now(): number;
  /** Milliseconds since the Unix epoch: for times others read (trigger times, reports, health). */
  wall(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Removes conntrack entries whose reply comes from one real server (UDP/SCTP deletions). */
export interface ConntrackFlusher {
  /** Resolves with the number of kernel writes made (a tool run counts one); never throws for "no entries". */
  flush(target: { protocol: Protocol; address: string; port: number }): Promise<number>;
}

/** What the proxier needs of the node-settings writer (node-sysctls.ts over src/sysctl/). */
export interface NodeSettingsApplier {
  /** Read every wanted setting, write those that differ (unless check-only). */
  apply(): Promise<{ writes: number; errors: ObjectError[] }>;
}

/** Where the ownership record lives (a file in --state-dir; in memory for tests). */
export interface StateStore {
  /** The record, or undefined when missing; `corrupt` is set when a file existed but could not be read. */
  load(): Promise<{ record: StateRecord | undefined; corrupt?: string }>;
  /** Replace the record with this JSON text (recordText() or serializeRecord() made it). */
  save(text: string): Promise<void>;
}

/** What changed since the last iptables sync: virtual server keys and kube-ipvs0 addresses. */
export interface ChangedKeys {
  virtualServers: ReadonlySet<string>;
  addresses: ReadonlySet<string>;
}

/** The iptables side (iptables-policy/manager.ts), optional so the proxier runs without it in tests. */
export interface IptablesSyncer {
  /**
   * Bring rules and sets in line with the state; resolves with kernel writes made (0 when
   * unchanged). `changed` (an incremental pass) names what changed since the last call, so an
   * implementation may skip work that those keys cannot affect.
   */
  sync(state: DesiredState, changed?: ChangedKeys): Promise<number>;
  /** Remove every chain and set it owns; resolves with kernel writes made. */
  cleanup?(): Promise<number>;
  /** Read the kernel beside the syncs: true when it holds what the last sync applied. */
  check?(): Promise<boolean>;
  /** Make the next sync read the kernel in full and repair what differs. */
  requestVerification?(): void;
  /** Learn what the node's tools are ahead of the first sync (while the sources are read); never rejects. */
  prepare?(): Promise<void>;
}

export type ProxierSettings = Pick<
  Settings,
  'serviceCidrs' | 'excludeCidrs' | 'nodePortRange' | 'gracefulTerminationTimeoutMs' | 'tcpTimeout' | 'tcpFinTimeout' | 'udpTimeout'
> & {
  /** How VIPs are made local on kube-ipvs0 (vips.ts). Default addresses. */
  vipMode?: VipMode;
};

export interface ProxierDeps {
  ipvs: IpvsClient;
  links: LinkClient;
  iptables?: IptablesSyncer;
  conntrack: ConntrackFlusher;
  sysctl: NodeSettingsApplier;
  stateStore: StateStore;
  clock: Clock;
  settings: ProxierSettings;
  /**
   * Handles for the background read of a verification (check()). A dump holds its handle for
   * seconds at 10,000 services, and every write on that handle would wait behind it: a second
   * pair keeps syncs flowing meanwhile. Default: ipvs and links.
   */
  reader?: { ipvs: IpvsClient; links: LinkClient };
  /** Name of the dummy link that holds the VIPs. Default kube-ipvs0. */
  linkName?: string;
  /** Pacing of mode both's background address fill. */
  vipFill?: VipFillPacing;
  /** Mode both: called each time the background address fill has caught up with the VIPs. */
  onVipAddressesCaughtUp?: (report: VipFillReport) => void;
  /** How often draining real servers are checked for remaining connections. Default 1000 ms. */
  drainPollMs?: number;
  /** Hears what a pass is doing (planned counts, each programming stage), for progress lines. */
  onPassProgress?: (stage: string) => void;
}

/** A problem with one object; the caller logs it with the name and the next sync retries. */
export interface ObjectError {
  /** e.g. "virtual server default/web:http TCP/10.96.0.10/80" */
  object: string;
  operation: string;
  code: string;
  message: string;
}

/** Something found in the kernel that is not ours: reported once, never touched. */
export interface ForeignObject {
  kind: 'virtual server' | 'address';
  key: string;
  reason: 'foreign' | 'excluded';
}

export interface SyncResult {
  /** Virtual servers, real servers and kube-ipvs0 addresses owned after the pass. */
  virtualServers: number;
  realServers: number;
  addresses: number;
  kernelWrites: number;
  /** From the start of the diff to the last kernel acknowledgement. */
  durationMs: number;
  /**
   * From the start of the diff to the acknowledgement of the last write that changed the kernel
   * (at most durationMs): where the network programming latency ends.
   */
  programmedMs: number;
  /** Where a pass's time went (diff, record, addresses, ipvs, iptables...), for debug logs. */
  phasesMs?: Record<string, number>;
  errors: ObjectError[];
  /**
   * Writes of owned objects that failed in this pass and wait for a retry (virtual servers,
   * addresses, the iptables side). 0 or absent: everything desired was applied, or left alone by
   * rule (foreign, excluded). A pass with pending writes has not applied its change.
   */
  pending?: number;
  /** The kernel may differ from what the proxier believes: run a verification soon. */
  needsVerification: boolean;
  /**
   * The pass compared the whole desired state with a full read of the kernel (a verification,
   * or the first sync after start): the next periodic verification is due a period after it.
   */
  fullCompare?: boolean;
  /** Foreign or excluded objects seen for the first time in this pass. */
  foreign: ForeignObject[];
  /** A background check found the kernel differing from what was programmed (why): verify() must repair. */
  drift?: string;
}
