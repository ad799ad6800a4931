// `status --diff`: the desired state against the kernel. Pure: it compares two snapshots and
// says what is missing, extra or different; deciding what to do about it is the proxier's job.
import { SvcFlag, type RealServer, type VirtualServer, type VirtualServerEntry } from '../vocabulary/ipvs.js';
import type { DesiredRealServer, DesiredState, DesiredVirtualServer, ServiceRef } from '../model/types.js';
import { canonicalMap, canonicalRealKey, canonicalServiceKey, lookupReal, type OwnershipRecord } from './ownership.js';
import { addressPortText } from './address.js';
import { serviceColumn } from './service-text.js';
import { sortServicesLikeIpvsadm } from './sort.js';

export interface FieldDifference {
  field: string;
  desired: string | number;
  actual: string | number;
}

export interface RealServerDifference {
  key: string;
  desired: DesiredRealServer;
  actual: RealServer;
  fields: FieldDifference[];
}

export interface VirtualServerDifference {
  key: string;
  owner: ServiceRef;
  desired: VirtualServer;
  actual: VirtualServer;
  /** Settings of the virtual server itself that differ (empty when only real servers do). */
  fields: FieldDifference[];
  missingReals: DesiredRealServer[];
  extraReals: RealServer[];
  changedReals: RealServerDifference[];
}

export interface StatusDiff {
  /** Desired, absent from the kernel. */
  missing: DesiredVirtualServer[];
  /** In the kernel and in the agent's record, but no longer desired. */
  extra: VirtualServerEntry[];
  /** In the kernel, neither desired nor recorded: someone else's. */
  foreign: VirtualServerEntry[];
  /** Present on both sides with differences. */
  changed: VirtualServerDifference[];
  /** Whether anything counts as drift (foreign virtual servers only when asked to). */
  drift: boolean;
}

export interface DiffOptions {
  /** Count foreign virtual servers as drift. */
  includeForeign: boolean;
}

const COMPARED_FLAGS = ~SvcFlag.HASHED;

function serviceFieldDifferences(d: VirtualServer, a: VirtualServer): FieldDifference[] {
  const out: FieldDifference[] = [];
  const push = (field: string, desired: string | number, actual: string | number): void => {
    if (desired !== actual) out.push({ field, desired, actual });
  };
  push('scheduler', d.scheduler, a.scheduler);
  push('flags', d.flags & COMPARED_FLAGS, a.flags & COMPARED_FLAGS);
  push('timeout', d.timeout, a.timeout);
  // The kernel keeps a netmask for every service but it only means something when persistent.
  if (d.timeout !== 0) push('netmask', d.netmask, a.netmask);
  push('peName', d.peName ?? '', a.peName ?? '');
  return out;
}

function realFieldDifferences(d: RealServer, a: RealServer): FieldDifference[] {
  const out: FieldDifference[] = [];
  const push = (field: string, desired: string | number, actual: string | number): void => {
    if (desired !== actual) out.push({ field, desired, actual });
  };
  push('forward', d.forward, a.forward);
  push('weight', d.weight, a.weight);
  push('upperThreshold', d.upperThreshold, a.upperThreshold);
  push('lowerThreshold', d.lowerThreshold, a.lowerThreshold);
  return out;
}

function compareEntry(key: string, desired: DesiredVirtualServer, actual: VirtualServerEntry): VirtualServerDifference {
  const wanted = new Map<string, DesiredRealServer>();
  for (const r of desired.reals) wanted.set(canonicalRealKey(r), r);
  const port = actual.service.fwmark === undefined ? actual.service.port : 0;
  const seen = new Set<string>();
  const extraReals: RealServer[] = [];
  const changedReals: RealServerDifference[] = [];
  for (const real of actual.reals) {
    const hit = lookupReal(wanted, real, port);
    if (hit === undefined || seen.has(hit.key)) {
      extraReals.push(real);
      continue;
    }
    seen.add(hit.key);
    const fields = realFieldDifferences(hit.value, real);
    if (fields.length > 0) changedReals.push({ key: hit.key, desired: hit.value, actual: real, fields });
  }
  const missingReals = [...wanted].filter(([k]) => !seen.has(k)).map(([, r]) => r);
  return {
    key,
    owner: desired.owner,
    desired: desired.service,
    actual: actual.service,
    fields: serviceFieldDifferences(desired.service, actual.service),
    missingReals,
    extraReals,
    changedReals,
  };
}

function differs(d: VirtualServerDifference): boolean {
  return d.fields.length + d.missingReals.length + d.extraReals.length + d.changedReals.length > 0;
}

/** Compares the desired state with the kernel's entries (both in any order). */
export function diffState(desired: DesiredState, kernel: readonly VirtualServerEntry[], record: OwnershipRecord | undefined, opts: DiffOptions): StatusDiff {
  const wanted = canonicalMap(desired.virtualServers);
  const recorded = record === undefined ? new Map<string, unknown>() : canonicalMap(record.virtualServers);
  const present = new Set<string>();
  const extra: VirtualServerEntry[] = [];
  const foreign: VirtualServerEntry[] = [];
  const changed: VirtualServerDifference[] = [];
  for (const entry of sortServicesLikeIpvsadm(kernel, (e) => e.service)) {
    const key = canonicalServiceKey(entry.service);
    present.add(key);
    const d = wanted.get(key);
    if (d === undefined) {
      (recorded.has(key) ? extra : foreign).push(entry);
      continue;
    }
    const difference = compareEntry(key, d, entry);
    if (differs(difference)) changed.push(difference);
  }
  const missing = sortServicesLikeIpvsadm(
    [...wanted].filter(([k]) => !present.has(k)).map(([, d]) => d),
    (d) => d.service,
  );
  const drift = missing.length + extra.length + changed.length > 0 || (opts.includeForeign && foreign.length > 0);
  return { missing, extra, foreign, changed, drift };
}

function describeFields(fields: readonly FieldDifference[]): string {
  return fields.map((f) => `${f.field} ${f.desired} -> ${f.actual}`).join(', ');
}

function realText(r: Pick<RealServer, 'family' | 'address' | 'port'>): string {
  return addressPortText(r.family, r.address, r.port);
}

/** The diff as text, one line per finding ("- " missing, "+ " extra, "~ " different, "? " foreign). */
export function formatDiff(diff: StatusDiff, opts: DiffOptions): string {
  const lines: string[] = [];
  const owner = (o: ServiceRef): string => `${o.namespace}/${o.name}${o.portName ? `:${o.portName}` : ''} ${o.kind}`;
  for (const d of diff.missing) lines.push(`- ${serviceColumn(d.service)}  # missing, ${owner(d.owner)}`);
  for (const e of diff.extra) lines.push(`+ ${serviceColumn(e.service)}  # extra, recorded but not desired`);
  for (const c of diff.changed) {
    const head = `~ ${serviceColumn(c.actual)}  # ${owner(c.owner)}`;
    lines.push(c.fields.length > 0 ? `${head}: ${describeFields(c.fields)}` : head);
    for (const r of c.missingReals) lines.push(`  - ${realText(r)}  # missing`);
    for (const r of c.extraReals) lines.push(`  + ${realText(r)}  # extra`);
    for (const r of c.changedReals) lines.push(`  ~ ${realText(r.actual)}  # ${describeFields(r.fields)}`);
  }
  const foreignNote = opts.includeForeign ? 'foreign' : 'foreign, not counted';
  for (const e of diff.foreign) lines.push(`? ${serviceColumn(e.service)}  # ${foreignNote}`);
  lines.push(diff.drift ? 'drift: the kernel differs from the desired state' : 'no drift');
  return lines.join('\n') + '\n';
}
