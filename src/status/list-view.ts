// The `ipvsadm -Ln` family of listings: the default view and --stats, --rate, --thresholds,
// --persistent-conn and --tun-info, with --exact and --nosort. Pure: entries in, text out.
import { formatLargeNumber } from './largenum.js';
import { left, right } from './printf.js';
import {
  forwardName,
  hasSchedulerFlags,
  isOnePacket,
  isPersistent,
  netmaskText,
  realColumn,
  schedulerFlagNames,
  serviceColumn,
  TUNNEL_FLAG_NAMES,
  TUNNEL_TYPE_NAMES,
} from './service-text.js';
import { sortRealsLikeIpvsadm, sortServicesLikeIpvsadm } from './sort.js';
import type { IpvsInfo } from '../ipvs/types.js';
import type { IpvsStats, RealServerStatus, VirtualServerEntry, VirtualServerStatus } from '../vocabulary/ipvs.js';

export type ListView = 'list' | 'stats' | 'rate' | 'thresholds' | 'persistent-conn' | 'tun-info';

export interface ListOptions {
  view: ListView;
  /** --exact: counters unscaled. */
  exact: boolean;
  /** false for --nosort: keep the kernel's dump order. */
  sort: boolean;
}

/** "IP Virtual Server version 1.2.1 (size=4096)" */
export function formatBanner(info: IpvsInfo): string {
  return `IP Virtual Server version ${info.version} (size=${info.connTableSize})`;
}

/** The two header lines of a view. */
export function formatListTitle(view: ListView): string[] {
  const first = left('Prot LocalAddress:Port', 33);
  const remote = '  -> RemoteAddress:Port';
  switch (view) {
    case 'stats':
      return [`${first} ${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((h) => right(h, 8)).join(' ')}`, remote];
    case 'rate':
      return [`${first} ${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((h) => right(h, 8)).join(' ')}`, remote];
    case 'thresholds':
      return [`${first} ${['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'].map((h) => left(h, 10)).join(' ')}`, remote];
    case 'persistent-conn':
      return [`${first} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}`, remote];
    case 'tun-info':
      return ['Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn'];
    case 'list':
      return ['Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'];
  }
}

/** The service line of the default, thresholds, persistent-conn and tun-info views. */
export function formatServiceSettings(s: VirtualServerStatus): string {
  let line = `${serviceColumn(s)} ${s.scheduler}`;
  if (hasSchedulerFlags(s)) line += ` (${schedulerFlagNames(s)})`;
  if (isPersistent(s)) {
    line += ` persistent ${s.timeout >>> 0}`;
    const mask = netmaskText(s);
    if (mask !== undefined) line += ` mask ${mask}`;
    // ipvsadm shows the persistence engine only on persistent services.
    if (s.peName) line += ` pe ${s.peName}`;
  }
  if (isOnePacket(s)) line += ' ops';
  return line;
}

/**
 * libipvs 1.31 decodes a real server's 64-bit stats with its 32-bit parser: every counter but
 * the byte counts keeps only its low 32 bits. Services are decoded correctly.
 */
export function realStatsAsIpvsadmReads(s: IpvsStats): IpvsStats {
  const low = (v: bigint): bigint => BigInt.asUintN(32, v);
  return {
    conns: low(s.conns),
    inpkts: low(s.inpkts),
    outpkts: low(s.outpkts),
    inbytes: s.inbytes,
    outbytes: s.outbytes,
    cps: low(s.cps),
    inpps: low(s.inpps),
    outpps: low(s.outpps),
    inbps: low(s.inbps),
    outbps: low(s.outbps),
  };
}

function counters(values: readonly bigint[], exact: boolean): string {
  return values.map((v) => formatLargeNumber(v, exact)).join('');
}

export function formatServiceLine(s: VirtualServerStatus, opts: ListOptions): string {
  const st = s.stats;
  switch (opts.view) {
    case 'stats':
      return left(serviceColumn(s), 33) + counters([st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes], opts.exact);
    case 'rate':
      return left(serviceColumn(s), 33) + counters([st.cps, st.inpps, st.outpps, st.inbps, st.outbps], opts.exact);
    default:
      return formatServiceSettings(s);
  }
}

function tunnelInfo(r: RealServerStatus): string {
  if (r.forward !== 'tunnel') return 'n/a';
  const type = r.tunnelType ?? 0;
  const flags = TUNNEL_FLAG_NAMES[r.tunnelFlags ?? 0] ?? '';
  // ipvsadm formats into a 16-byte buffer.
  if (type === 0) return TUNNEL_TYPE_NAMES[0];
  if (type === 1) return `gue:${r.tunnelPort ?? 0}:${flags}`.slice(0, 15);
  if (type === 2) return `gre:${flags}`.slice(0, 15);
  return 'n/a';
}

export function formatRealLine(r: RealServerStatus, opts: ListOptions): string {
  const name = realColumn(r);
  const u = (n: number): string => String(n >>> 0);
  switch (opts.view) {
    case 'stats': {
      const st = realStatsAsIpvsadmReads(r.stats);
      return `  -> ${left(name, 28)}${counters([st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes], opts.exact)}`;
    }
    case 'rate': {
      const st = realStatsAsIpvsadmReads(r.stats);
      // The per-second packet and connection rates are printed with %8llu, never scaled.
      return `  -> ${left(name, 28)} ${right(st.cps, 8)} ${right(st.inpps, 8)} ${right(st.outpps, 8)}${counters([st.inbps, st.outbps], opts.exact)}`;
    }
    case 'thresholds':
      return `  -> ${left(name, 28)} ${[r.upperThreshold, r.lowerThreshold, r.activeConns, r.inactiveConns].map((n) => left(u(n), 10)).join(' ')}`;
    case 'persistent-conn':
      return `  -> ${left(name, 28)} ${left(u(r.weight), 9)} ${left(u(r.persistConns), 11)} ${left(u(r.activeConns), 10)} ${left(u(r.inactiveConns), 10)}`;
    case 'tun-info':
      return `  -> ${left(name, 28)} ${left(forwardName(r.forward), 7)} ${left(tunnelInfo(r), 13)} ${left(r.weight | 0, 6)} ${left(u(r.activeConns), 10)} ${left(u(r.inactiveConns), 10)}`;
    case 'list':
      return `  -> ${left(name, 28)} ${left(forwardName(r.forward), 7)} ${left(r.weight | 0, 6)} ${left(u(r.activeConns), 10)} ${left(u(r.inactiveConns), 10)}`;
  }
}

/** Services and their reals in the order the listing shows them. */
export function orderEntries(entries: readonly VirtualServerEntry[], sort: boolean): VirtualServerEntry[] {
  if (!sort) return [...entries];
  return sortServicesLikeIpvsadm(entries, (e) => e.service).map((e) => ({
    service: e.service,
    reals: sortRealsLikeIpvsadm(e.reals),
  }));
}

/** The whole listing, banner included, newline-terminated: `ipvsadm -Ln [view options]`. */
export function formatList(info: IpvsInfo, entries: readonly VirtualServerEntry[], opts: ListOptions): string {
  const lines = [formatBanner(info), ...formatListTitle(opts.view)];
  for (const e of orderEntries(entries, opts.sort)) {
    lines.push(formatServiceLine(e.service, opts));
    for (const r of e.reals) lines.push(formatRealLine(r, opts));
  }
  return lines.join('\n') + '\n';
}
