// `status --names`: the ipvsadm listing with a comment on each line saying which Kubernetes
// object it serves, from the agent's record. The ipvsadm columns are left untouched so the
// lines still read (and grep) like ipvsadm's; the annotation follows after "  # ".
import { formatBanner, formatListTitle, formatRealLine, formatServiceLine, orderEntries, type ListOptions } from './list-view.js';
import { canonicalMap, canonicalServiceKey, lookupReal, ownerText, type OwnedRealServer, type OwnedVirtualServer, type OwnershipRecord } from './ownership.js';
import type { IpvsInfo } from '../ipvs/types.js';
import type { RealServerStatus, VirtualServerEntry, VirtualServerStatus } from '../vocabulary/ipvs.js';

export const NOT_OURS = 'not ours';
/**
 * A real server of a virtual server the record owns, missing from the record: the record lists
 * every real server the agent programmed (with or without pod names), so this one came after the
 * record was last written. The agent writes names behind the pass that programmed them (spaced
 * by what a write costs, at most 10 s apart), so it is there on the next look.
 */
export const NOT_RECORDED = 'not yet in the agent record';

/** NOT_RECORDED when the record says when it was written. */
export function programmedAfterRecord(recordAgeMs: number): string {
  return `programmed after the agent's last record write (${Math.max(0, Math.round(recordAgeMs / 1000))} s ago)`;
}

export function serviceAnnotation(s: VirtualServerStatus, owned: OwnedVirtualServer | undefined, localBy?: ReadonlyMap<string, string>): string {
  if (owned === undefined) return NOT_OURS;
  const how = s.fwmark === undefined ? localBy?.get(s.address) : undefined;
  return `${ownerText(owned.owner, s.fwmark === undefined ? s.port : undefined)} ${owned.owner.kind}${how ? `, VIP local by ${how}` : ''}`;
}

export function realAnnotation(r: OwnedRealServer | undefined, recordAgeMs?: number): string {
  if (r === undefined) return recordAgeMs === undefined ? NOT_RECORDED : programmedAfterRecord(recordAgeMs);
  const parts: string[] = [];
  if (r.pod !== undefined) parts.push(`pod ${r.pod.namespace}/${r.pod.name}`);
  if (r.nodeName !== undefined) parts.push(`node ${r.nodeName}`);
  return parts.length > 0 ? parts.join(' ') : 'no pod';
}

/** The entries the agent owns (by its record), in the order given. */
export function ownedEntries(entries: readonly VirtualServerEntry[], record: OwnershipRecord): VirtualServerEntry[] {
  const owned = canonicalMap(record.virtualServers);
  return entries.filter((e) => owned.has(canonicalServiceKey(e.service)));
}

export interface NamedRealServer {
  real: RealServerStatus;
  owned: OwnedRealServer | undefined;
}

export interface NamedVirtualServer {
  entry: VirtualServerEntry;
  owned: OwnedVirtualServer | undefined;
  reals: NamedRealServer[];
}

/** Pairs each kernel object with what the record says about it (undefined: not recorded). */
export function nameEntries(entries: readonly VirtualServerEntry[], record: OwnershipRecord): NamedVirtualServer[] {
  const services = canonicalMap(record.virtualServers);
  return entries.map((entry) => {
    const owned = services.get(canonicalServiceKey(entry.service));
    const reals = owned === undefined ? undefined : canonicalMap(owned.reals);
    const port = entry.service.fwmark === undefined ? entry.service.port : 0;
    return {
      entry,
      owned,
      reals: entry.reals.map((real) => ({
        real,
        owned: reals === undefined ? undefined : lookupReal(reals, real, port)?.value,
      })),
    };
  });
}

/** The default (or --thresholds, --persistent-conn …) listing, annotated. */
export function formatNamedList(
  info: IpvsInfo,
  entries: readonly VirtualServerEntry[],
  record: OwnershipRecord,
  opts: ListOptions,
  localBy?: ReadonlyMap<string, string>,
): string {
  const lines = [formatBanner(info), ...formatListTitle(opts.view)];
  for (const named of nameEntries(orderEntries(entries, opts.sort), record)) {
    lines.push(`${formatServiceLine(named.entry.service, opts)}  # ${serviceAnnotation(named.entry.service, named.owned, localBy)}`);
    for (const r of named.reals) {
      const line = formatRealLine(r.real, opts);
      lines.push(named.owned === undefined ? line : `${line}  # ${realAnnotation(r.owned, record.recordAgeMs)}`);
    }
  }
  return lines.join('\n') + '\n';
}
