// Shared by the addon's kernel tests and the benchmark: a table as data, the addon operations
// that create it, the ipvsadm rules that create the same table, and a normal form to compare.
import { SvcFlag, type IpvsOp, type RealServer, type VirtualServer } from '../../src/vocabulary/ipvs.js';
import { realKey, serviceKey } from '../../src/vocabulary/ipvs-keys.js';
import type { Netns } from './helpers/netns.js';

export type Table = readonly { service: VirtualServer; reals: readonly RealServer[] }[];

export function addOps(table: Table): IpvsOp[] {
  const ops: IpvsOp[] = [];
  for (const e of table) {
    ops.push({ op: 'addService', service: e.service });
    for (const real of e.reals) ops.push({ op: 'addReal', service: e.service, real });
  }
  return ops;
}

function hostPort(family: string, address: string, port: number): string {
  return family === 'inet6' ? `[${address}]:${port}` : `${address}:${port}`;
}

function serviceArgs(s: VirtualServer): string {
  if (s.fwmark !== undefined) return `-f ${s.fwmark}${s.family === 'inet6' ? ' -6' : ''}`;
  const opt = s.protocol === 'TCP' ? '-t' : s.protocol === 'UDP' ? '-u' : '--sctp-service';
  return `${opt} ${hostPort(s.family, s.address, s.port)}`;
}

function v4Mask(prefix: number): string {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join('.');
}

function schedFlags(s: VirtualServer): string[] {
  const names = s.scheduler === 'sh' || s.scheduler === 'mh' ? [`${s.scheduler}-fallback`, `${s.scheduler}-port`, 'flag-3'] : ['flag-1', 'flag-2', 'flag-3'];
  return [SvcFlag.SCHED1, SvcFlag.SCHED2, SvcFlag.SCHED3].flatMap((bit, i) => ((s.flags & bit) !== 0 ? [names[i]] : []));
}

const FORWARD_OPT: Record<RealServer['forward'], string> = { masq: '-m', local: '-g', route: '-g', tunnel: '-i' };

/** The same table as `ipvsadm -R` input. */
export function ipvsadmRules(table: Table): string {
  const lines: string[] = [];
  for (const { service: s, reals } of table) {
    let line = `-A ${serviceArgs(s)} -s ${s.scheduler}`;
    if ((s.flags & SvcFlag.PERSISTENT) !== 0) {
      line += ` -p ${s.timeout} -M ${s.family === 'inet' ? v4Mask(s.netmask) : s.netmask}`;
    }
    if (s.peName) line += ` --pe ${s.peName}`;
    if ((s.flags & SvcFlag.ONEPACKET) !== 0) line += ' -o';
    const flags = schedFlags(s);
    if (flags.length > 0) line += ` -b ${flags.join(',')}`;
    lines.push(line);
    for (const r of reals) {
      let rl = `-a ${serviceArgs(s)} -r ${hostPort(r.family, r.address, r.port)} ${FORWARD_OPT[r.forward]} -w ${r.weight}`;
      if (r.upperThreshold) rl += ` -x ${r.upperThreshold}`;
      if (r.lowerThreshold) rl += ` -y ${r.lowerThreshold}`;
      lines.push(rl);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Settings only (no counters, no HASHED), services and reals sorted by key. */
export function comparable(table: Table): unknown[] {
  return [...table]
    .map((e) => ({
      key: serviceKey(e.service),
      service: {
        ...(e.service.fwmark !== undefined
          ? { family: e.service.family, fwmark: e.service.fwmark }
          : { family: e.service.family, protocol: e.service.protocol, address: e.service.address, port: e.service.port }),
        scheduler: e.service.scheduler,
        flags: e.service.flags & ~SvcFlag.HASHED,
        timeout: e.service.timeout,
        netmask: e.service.netmask,
        peName: e.service.peName ?? '',
      },
      reals: [...e.reals]
        .map((r) => ({
          key: realKey(r),
          family: r.family,
          address: r.address,
          port: r.port,
          forward: r.forward,
          weight: r.weight,
          upperThreshold: r.upperThreshold,
          lowerThreshold: r.lowerThreshold,
          tunnel: r.forward === 'tunnel' ? [r.tunnelType ?? 0, r.tunnelPort ?? 0, r.tunnelFlags ?? 0] : [],
        }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * A fresh namespace has no routes, and the kernel rejects NAT real servers it cannot route
 * ("address not unicast", EINVAL): give it 10.0.0.0/8 and fd00::/8 on a dummy link.
 */
export async function prepareRoutes(ns: Netns): Promise<void> {
  await ns.run('ip', ['link', 'add', 'routes0', 'type', 'dummy']);
  await ns.run('ip', ['link', 'set', 'routes0', 'up']);
  await ns.run('ip', ['addr', 'add', '10.0.0.1/8', 'dev', 'routes0']);
  await ns.run('ip', ['-6', 'addr', 'add', 'fd00::1/8', 'dev', 'routes0', 'nodad']);
}
