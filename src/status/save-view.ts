// `ipvsadm -Sn`: the table as the ipvsadm commands that rebuild it (no banner, no title).
import { addressPortText } from './address.js';
import {
  forwardSwitch,
  hasSchedulerFlags,
  isOnePacket,
  isPersistent,
  netmaskText,
  schedulerFlagNames,
  TUNNEL_FLAG_OPTIONS,
  TUNNEL_TYPE_NAMES,
} from './service-text.js';
import { orderEntries } from './list-view.js';
import type { RealServerStatus, VirtualServer, VirtualServerEntry } from '../vocabulary/ipvs.js';

const PROTOCOL_OPTIONS = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service' } as const;

/** "-t 10.96.0.1:443", "--sctp-service [fd00::1]:80", "-f 77", "-f 78 -6". */
export function serviceOption(s: VirtualServer): string {
  if (s.fwmark !== undefined) return s.family === 'inet6' ? `-f ${s.fwmark | 0} -6` : `-f ${s.fwmark | 0}`;
  return `${PROTOCOL_OPTIONS[s.protocol]} ${addressPortText(s.family, s.address, s.port)}`;
}

export function formatSaveService(s: VirtualServer): string {
  let line = `-A ${serviceOption(s)} -s ${s.scheduler}`;
  if (isPersistent(s)) {
    line += ` -p ${s.timeout >>> 0}`;
    const mask = netmaskText(s);
    if (mask !== undefined) line += ` -M ${mask}`;
  }
  // Unlike the listing, -S writes the persistence engine whether or not the service persists.
  if (s.peName) line += ` --pe ${s.peName}`;
  if (isOnePacket(s)) line += ' -o';
  if (hasSchedulerFlags(s)) line += ` -b ${schedulerFlagNames(s)}`;
  return line;
}

export function formatSaveReal(s: VirtualServer, r: RealServerStatus): string {
  const base = `-a ${serviceOption(s)} -r ${addressPortText(r.family, r.address, r.port)} ${forwardSwitch(r.forward)} -w ${r.weight | 0}`;
  if (r.forward !== 'tunnel') return base;
  // A kernel that does not report the tunnel type leaves libipvs's zeroed default: ipip.
  const type = r.tunnelType ?? 0;
  const csum = TUNNEL_FLAG_OPTIONS[r.tunnelFlags ?? 0];
  if (type === 0) return `${base} --tun-type ${TUNNEL_TYPE_NAMES[0]}`;
  if (type === 1) return `${base} --tun-type ${TUNNEL_TYPE_NAMES[1]} --tun-port ${r.tunnelPort ?? 0} ${csum}`;
  if (type === 2) return `${base} --tun-type ${TUNNEL_TYPE_NAMES[2]} ${csum}`;
  return base;
}

/** The whole `ipvsadm -Sn` output, newline-terminated (empty for an empty table). */
export function formatSave(entries: readonly VirtualServerEntry[], sort: boolean): string {
  const lines: string[] = [];
  for (const e of orderEntries(entries, sort)) {
    lines.push(formatSaveService(e.service));
    for (const r of e.reals) lines.push(formatSaveReal(e.service, r));
  }
  return lines.map((l) => `${l}\n`).join('');
}
