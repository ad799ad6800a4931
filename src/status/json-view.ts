// `status --json`: the same data as the listings, machine-readable. The schema is documented in
// docs/status-json.md; any incompatible change bumps STATUS_JSON_SCHEMA_VERSION. 64-bit counters
// are decimal strings (JSON numbers lose precision past 2^53); everything else is a number.
import { addressText } from './address.js';
import type { ConnectionEntry } from './connections.js';
import type { FieldDifference, StatusDiff } from './diff.js';
import { orderEntries } from './list-view.js';
import { nameEntries, type NamedVirtualServer } from './names-view.js';
import type { OwnershipRecord } from './ownership.js';
import { isOnePacket, isPersistent, schedulerFlagNames } from './service-text.js';
import type { IpvsInfo, IpvsTimeouts } from '../ipvs/types.js';
import type { IpvsStats, RealServer, VirtualServer, VirtualServerEntry } from '../vocabulary/ipvs.js';
import type { DesiredRealServer, ServiceRef } from '../model/types.js';

export const STATUS_JSON_SCHEMA_VERSION = 1;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function stats(s: IpvsStats): Json {
  return {
    conns: s.conns.toString(),
    inPackets: s.inpkts.toString(),
    outPackets: s.outpkts.toString(),
    inBytes: s.inbytes.toString(),
    outBytes: s.outbytes.toString(),
    connsPerSecond: s.cps.toString(),
    inPacketsPerSecond: s.inpps.toString(),
    outPacketsPerSecond: s.outpps.toString(),
    inBytesPerSecond: s.inbps.toString(),
    outBytesPerSecond: s.outbps.toString(),
  };
}

function ownerJson(o: ServiceRef | undefined): Json {
  return o === undefined ? null : { namespace: o.namespace, name: o.name, portName: o.portName, kind: o.kind };
}

function serviceIdentity(s: VirtualServer): { [key: string]: Json } {
  return s.fwmark !== undefined
    ? { family: s.family, fwmark: s.fwmark, protocol: null, address: null, port: null }
    : { family: s.family, fwmark: null, protocol: s.protocol, address: addressText(s.family, s.address), port: s.port };
}

function serviceSettings(s: VirtualServer): { [key: string]: Json } {
  const sched = schedulerFlagNames(s);
  return {
    scheduler: s.scheduler,
    flags: s.flags,
    schedulerFlags: sched === '' ? [] : sched.split(','),
    persistent: isPersistent(s),
    timeout: s.timeout,
    netmask: s.netmask,
    persistenceEngine: s.peName ? s.peName : null,
    onePacket: isOnePacket(s),
  };
}

function realIdentity(r: Pick<RealServer, 'family' | 'address' | 'port'>): { [key: string]: Json } {
  return { family: r.family, address: addressText(r.family, r.address), port: r.port };
}

function realSettings(r: RealServer): { [key: string]: Json } {
  return {
    forward: r.forward,
    weight: r.weight,
    upperThreshold: r.upperThreshold,
    lowerThreshold: r.lowerThreshold,
    tunnel: r.forward === 'tunnel' ? { type: r.tunnelType ?? 0, port: r.tunnelPort ?? 0, flags: r.tunnelFlags ?? 0 } : null,
  };
}

function namedJson(n: NamedVirtualServer, withNames: boolean, localBy: ReadonlyMap<string, string> | undefined): Json {
  const s = n.entry.service;
  const out: { [key: string]: Json } = { ...serviceIdentity(s), ...serviceSettings(s), stats: stats(s.stats) };
  if (withNames) {
    out.owned = n.owned !== undefined;
    out.owner = ownerJson(n.owned?.owner);
  }
  // As the --names view's "VIP local by route": null when no route of the agent makes it local.
  if (localBy !== undefined) out.vipLocalBy = s.fwmark === undefined ? (localBy.get(s.address) ?? null) : null;
  out.realServers = n.reals.map((r) => {
    const real: { [key: string]: Json } = {
      ...realIdentity(r.real),
      ...realSettings(r.real),
      activeConns: r.real.activeConns,
      inactiveConns: r.real.inactiveConns,
      persistConns: r.real.persistConns,
      stats: stats(r.real.stats),
    };
    if (withNames) {
      real.pod = r.owned?.pod === undefined ? null : { namespace: r.owned.pod.namespace, name: r.owned.pod.name };
      real.nodeName = r.owned?.nodeName ?? null;
    }
    return real;
  });
  return out;
}

/**
 * The table as JSON; with a record, each object says whose it is; with `localBy` (address to
 * "route" or "route+address", from the agent's local routes on kube-ipvs0), how each VIP is local.
 */
export function tableJson(
  info: IpvsInfo,
  entries: readonly VirtualServerEntry[],
  record: OwnershipRecord | undefined,
  sort: boolean,
  localBy?: ReadonlyMap<string, string>,
): string {
  const ordered = orderEntries(entries, sort);
  const named = nameEntries(ordered, record ?? { virtualServers: new Map() });
  const doc: Json = {
    schemaVersion: STATUS_JSON_SCHEMA_VERSION,
    kind: 'table',
    ipvs: { version: info.version, connTableSize: info.connTableSize },
    virtualServers: named.map((n) => namedJson(n, record !== undefined, localBy)),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

function fieldsJson(fields: readonly FieldDifference[]): Json {
  return fields.map((f) => ({ field: f.field, desired: f.desired, actual: f.actual }));
}

function desiredRealJson(r: DesiredRealServer): Json {
  return { ...realIdentity(r), ...realSettings(r) };
}

export function diffJson(diff: StatusDiff): string {
  const vsRef = (s: VirtualServer): Json => serviceIdentity(s);
  const doc: Json = {
    schemaVersion: STATUS_JSON_SCHEMA_VERSION,
    kind: 'diff',
    drift: diff.drift,
    missing: diff.missing.map((d) => ({ ...serviceIdentity(d.service), ...serviceSettings(d.service), owner: ownerJson(d.owner) })),
    extra: diff.extra.map((e) => vsRef(e.service)),
    foreign: diff.foreign.map((e) => vsRef(e.service)),
    changed: diff.changed.map((c) => ({
      ...serviceIdentity(c.actual),
      owner: ownerJson(c.owner),
      fields: fieldsJson(c.fields),
      missingRealServers: c.missingReals.map(desiredRealJson),
      extraRealServers: c.extraReals.map((r) => ({ ...realIdentity(r), ...realSettings(r) })),
      changedRealServers: c.changedReals.map((r) => ({ ...realIdentity(r.actual), fields: fieldsJson(r.fields) })),
    })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

export function connectionsJson(entries: readonly ConnectionEntry[]): string {
  const doc: Json = {
    schemaVersion: STATUS_JSON_SCHEMA_VERSION,
    kind: 'connections',
    connections: entries.map((c) => ({
      protocol: c.protocol,
      source: c.client,
      virtual: c.virtual,
      destination: c.destination,
      state: c.state,
      expiresSeconds: c.expiresSeconds,
      persistenceEngine: c.peName ?? null,
      persistenceData: c.peData ?? null,
    })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

export function timeoutsJson(t: IpvsTimeouts): string {
  const doc: Json = { schemaVersion: STATUS_JSON_SCHEMA_VERSION, kind: 'timeouts', tcp: t.tcp, tcpFin: t.tcpFin, udp: t.udp };
  return JSON.stringify(doc, null, 2) + '\n';
}
