// The status command without its command line: options in, text and exit status out. Reads the
// kernel through the IpvsClient (never through ipvsadm) and the connection table from /proc.
import { readFile } from 'node:fs/promises';
import type { IpvsClient, IpvsTimeouts } from '../ipvs/types.js';
import type { DesiredState } from '../model/types.js';
import { formatConnections, parseConnections } from './connections.js';
import { diffState, formatDiff } from './diff.js';
import { connectionsJson, diffJson, tableJson, timeoutsJson } from './json-view.js';
import { formatList, type ListView } from './list-view.js';
import { formatNamedList, ownedEntries } from './names-view.js';
import type { OwnershipRecord } from './ownership.js';
import { formatSave } from './save-view.js';

export interface StatusOptions {
  stats?: boolean;
  rate?: boolean;
  /** Counters unscaled. */
  exact?: boolean;
  thresholds?: boolean;
  persistentConn?: boolean;
  tunInfo?: boolean;
  /** Keep the kernel's order instead of ipvsadm's. */
  nosort?: boolean;
  timeout?: boolean;
  /** `ipvsadm -Sn`. */
  save?: boolean;
  /** `ipvsadm -Lnc`. */
  connections?: boolean;
  names?: boolean;
  json?: boolean;
  diff?: boolean;
  /** Only virtual servers in the agent's record. */
  owned?: boolean;
  /** With --diff: count virtual servers nobody recorded as drift. */
  includeForeign?: boolean;
}

export interface StatusDeps {
  ipvs: IpvsClient;
  /** What the agent recorded; needed by --names and --owned, used by --diff to tell extra from foreign. */
  ownership?: OwnershipRecord;
  /** What the table should be; needed by --diff. */
  desired?: DesiredState;
  /** The connection table's text; defaults to reading connProcPath. */
  readConnections?: () => Promise<string>;
  /** Defaults to /proc/net/ip_vs_conn (per network namespace). */
  connProcPath?: string;
  /**
   * How VIPs made local other than by an address alone are (address -> 'route' or
   * 'route+address'), for --names and the JSON table (vipLocalBy); a VIP absent is an address on
   * kube-ipvs0, as ipvsadm users expect.
   */
  localBy?: ReadonlyMap<string, string>;
}

export interface StatusResult {
  output: string;
  /** 0, or 1 when --diff found drift. */
  exitCode: number;
}

/** Options that cannot be combined, or a view without the input it needs. Exit status 2. */
export class StatusUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'StatusUsageError';
  }
}

/** The connection table could not be read (IPVS not loaded in this namespace, no permission). */
export class ConnectionTableUnreadableError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot open file ${path}`, { cause });
    this.name = 'ConnectionTableUnreadableError';
  }
}

export const DEFAULT_CONN_PROC_PATH = '/proc/net/ip_vs_conn';

/** ipvsadm's precedence: --stats over --rate over --thresholds over --persistent-conn over --tun-info. */
export function listViewOf(opts: StatusOptions): ListView {
  if (opts.stats) return 'stats';
  if (opts.rate) return 'rate';
  if (opts.thresholds) return 'thresholds';
  if (opts.persistentConn) return 'persistent-conn';
  if (opts.tunInfo) return 'tun-info';
  return 'list';
}

/** Rejects what ipvsadm rejects ("options conflicts in the list command") and what needs input. */
export function checkStatusOptions(opts: StatusOptions, deps: Pick<StatusDeps, 'ownership' | 'desired'>): void {
  const counters = opts.stats || opts.rate || opts.thresholds;
  if ((opts.connections || opts.timeout) && counters) throw new StatusUsageError('options conflicts in the list command');
  if (opts.timeout && opts.persistentConn) throw new StatusUsageError('options conflicts in the list command');
  const single = [opts.diff, opts.connections, opts.timeout, opts.save].filter(Boolean).length;
  if (single > 1) throw new StatusUsageError('--diff, --connections, --timeout and --save are separate views');
  if (opts.names && (opts.save || opts.connections || opts.timeout)) {
    throw new StatusUsageError('--names annotates the listing views only');
  }
  if ((opts.names || opts.owned) && deps.ownership === undefined) {
    throw new StatusUsageError('--names and --owned need the agent state record');
  }
  if (opts.diff && deps.desired === undefined) throw new StatusUsageError('--diff needs the desired state');
}

export function formatTimeouts(t: IpvsTimeouts): string {
  return `Timeout (tcp tcpfin udp): ${t.tcp | 0} ${t.tcpFin | 0} ${t.udp | 0}\n`;
}

async function readConnectionTable(deps: StatusDeps): Promise<string> {
  if (deps.readConnections) return deps.readConnections();
  const path = deps.connProcPath ?? DEFAULT_CONN_PROC_PATH;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConnectionTableUnreadableError(path, err);
  }
}

export async function runStatus(opts: StatusOptions, deps: StatusDeps): Promise<StatusResult> {
  checkStatusOptions(opts, deps);
  const sort = !opts.nosort;

  if (opts.connections) {
    const entries = parseConnections(await readConnectionTable(deps));
    const output = opts.json ? connectionsJson(entries) : formatConnections(entries, opts.persistentConn === true);
    return { output, exitCode: 0 };
  }
  if (opts.timeout) {
    const t = await deps.ipvs.getTimeouts();
    return { output: opts.json ? timeoutsJson(t) : formatTimeouts(t), exitCode: 0 };
  }

  // Only the JSON form and the --stats and --rate listings show the traffic counters.
  let entries = await deps.ipvs.dump({ counters: opts.json === true || opts.stats === true || opts.rate === true });
  if (opts.diff && deps.desired !== undefined) {
    const diffOpts = { includeForeign: opts.includeForeign === true };
    const diff = diffState(deps.desired, entries, deps.ownership, diffOpts);
    if (opts.owned) diff.foreign = [];
    return { output: opts.json ? diffJson(diff) : formatDiff(diff, diffOpts), exitCode: diff.drift ? 1 : 0 };
  }
  if (opts.owned && deps.ownership !== undefined) entries = ownedEntries(entries, deps.ownership);
  if (opts.save) return { output: formatSave(entries, sort), exitCode: 0 };

  const info = await deps.ipvs.info();
  if (opts.json) {
    const record = opts.names || opts.owned ? deps.ownership : undefined;
    return { output: tableJson(info, entries, record, sort, deps.localBy), exitCode: 0 };
  }
  const listOpts = { view: listViewOf(opts), exact: opts.exact === true, sort };
  if (opts.names && deps.ownership !== undefined) {
    return { output: formatNamedList(info, entries, deps.ownership, listOpts, deps.localBy), exitCode: 0 };
  }
  return { output: formatList(info, entries, listOpts), exitCode: 0 };
}
