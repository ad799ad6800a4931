// An Agent wired to a real source (KubeSource against the fixture API server, or ManifestSource
// over files) and to the fake kernel (FakeIpvs, FakeLinks, memory state record), with a
// recording logger. The kernel table is sampled on every sync pass so a test can prove a virtual
// server never disappeared, not only that it is there at the end.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { Agent } from '../../../src/agent/agent.js';
import { defaultSettings } from '../../../src/config/load.js';
import type { Settings } from '../../../src/config/settings.js';
import { FakeIpvs } from '../../support/fake-ipvs.js';
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import type { IpvsOp, OpResult } from '../../../src/vocabulary/ipvs.js';
import { NullEventRecorder, type EventSink, type ObjectRef } from '../../../src/k8s/events.js';
import type { ServiceSource } from '../../../src/vocabulary/source.js';
import { FakeLinks } from '../../support/fake-links.js';
import type { LogFields, Logger } from '../../../src/ops/logger.js';
import { systemClock } from '../../../src/proxier/clock.js';
import { RecordingConntrack } from '../../../src/proxier/conntrack.js';
import { MemoryStateStore } from '../../support/memory-state-store.js';
import type { NodeSettingsApplier, ObjectError, StateStore } from '../../../src/proxier/types.js';
import type { HealthState } from '../../../src/ops/health.js';
import type { FleetPublisher, SyncReport } from '../../../src/fleet/publisher.js';

export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  fields?: LogFields;
}

export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', message, fields });
  }
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  child(): Logger {
    return this;
  }
  close(): void {}
  matching(level: LogLine['level'], re: RegExp): LogLine[] {
    return this.lines.filter((l) => l.level === level && re.test(l.message));
  }
}

class SettledSysctl implements NodeSettingsApplier {
  async apply(): Promise<{ writes: number; errors: ObjectError[] }> {
    return { writes: 0, errors: [] };
  }
}

/** A FakeIpvs that counts deletions of virtual servers: the thing no fault may cause. */
export class WatchedIpvs extends FakeIpvs {
  readonly deletedServices: string[] = [];
  readonly deletedReals: string[] = [];
  override async apply(ops: readonly IpvsOp[]): Promise<OpResult[]> {
    for (const op of ops) {
      if (op.op === 'deleteService') this.deletedServices.push(serviceKey(op.service));
      if (op.op === 'deleteReal') this.deletedReals.push(`${serviceKey(op.service)} ${op.real.address}:${op.real.port}`);
    }
    return super.apply(ops);
  }
}

/** An EventSink that keeps every Warning event the agent records. */
export class RecordingEvents implements EventSink {
  readonly warnings: { ref: ObjectRef; reason: string; message: string }[] = [];
  warn(ref: ObjectRef, reason: string, message: string): void {
    this.warnings.push({ ref, reason, message });
  }
  async flush(): Promise<void> {}
}

/** The part of FleetPublisher the agent calls, recording each report. */
export class RecordingFleet {
  readonly reports: SyncReport[] = [];
  publish(report: SyncReport): void {
    this.reports.push(report);
  }
  close(): void {}
}

export interface AgentWorld {
  agent: Agent;
  ipvs: WatchedIpvs;
  links: FakeLinks;
  logger: RecordingLogger;
  store: StateStore;
  /** Virtual servers in the fake kernel now. */
  count(): Promise<number>;
  stop(): Promise<void>;
}

export interface AgentWorldOptions {
  settings?: Partial<Settings>;
  ipvs?: WatchedIpvs;
  links?: FakeLinks;
  store?: StateStore;
  health?: HealthState;
  fleet?: FleetPublisher;
  events?: EventSink;
  progressIntervalMs?: number;
  emptySourceConfirmMs?: number;
  releaseFreeMemory?: () => void;
}

export function agentWorld(source: ServiceSource, opts: AgentWorldOptions = {}): AgentWorld {
  const ipvs = opts.ipvs ?? new WatchedIpvs();
  const links = opts.links ?? nodeLinks();
  const logger = new RecordingLogger();
  const store = opts.store ?? new MemoryStateStore();
  const settings: Settings = { ...defaultSettings('node-a'), syncPeriodMs: 200, minSyncPeriodMs: 0, ...opts.settings };
  const agent = new Agent({
    settings,
    source,
    logger,
    links,
    ipvs,
    clock: systemClock,
    events: opts.events ?? new NullEventRecorder(),
    conntrack: new RecordingConntrack(),
    sysctl: new SettledSysctl(),
    stateStore: store,
    syncTimeoutMs: 10_000,
    health: opts.health,
    fleet: opts.fleet,
    progressIntervalMs: opts.progressIntervalMs ?? 0,
    emptySourceConfirmMs: opts.emptySourceConfirmMs,
    releaseFreeMemory: opts.releaseFreeMemory,
  });
  return {
    agent,
    ipvs,
    links,
    logger,
    store,
    count: async () => (await ipvs.dump()).length,
    stop: () => agent.stop(),
  };
}

/** eth0 with the node's address 192.168.1.10/24. */
export function nodeLinks(): FakeLinks {
  const links = new FakeLinks();
  links.addLink('eth0');
  links.seedAddress('eth0', '192.168.1.10', 24);
  return links;
}

/** Polls until check() holds; fails naming what after timeoutMs. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** ClusterIP service i: 10.96.x.y:80 → port 8080. */
export function svc(i: number, extra: Partial<V1Service['spec']> = {}): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'default' },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIp(i),
      clusterIPs: [clusterIp(i)],
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      ...extra,
    },
  };
}

export function clusterIp(i: number): string {
  return `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** One ready endpoint per service: 10.244.x.y:8080. */
export function sliceFor(i: number, ips: string[] = [`10.244.${Math.floor(i / 250)}.${(i % 250) + 1}`]): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** The fake kernel's table as text: virtual servers with their settings, real servers with weights. */
export async function tableText(ipvs: FakeIpvs): Promise<string> {
  const lines: string[] = [];
  for (const e of await ipvs.dump()) {
    lines.push(`${serviceKey(e.service)} ${e.service.scheduler} flags=${e.service.flags} timeout=${e.service.timeout}`);
    for (const r of e.reals) lines.push(`  -> ${r.address}:${r.port} ${r.forward} w${r.weight}`);
  }
  return lines.sort().join('\n');
}
