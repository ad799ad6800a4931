// Prometheus metrics with kube-proxy's names, so existing dashboards and alerts keep working,
// plus the agent's own (kernel writes, sync errors, IPVS per-service traffic). One Registry per
// agent, never prom-client's global one: tests and embedded agents do not share counters.
import client from 'prom-client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VirtualServerEntry } from '../vocabulary/ipvs.js';
import { serviceKey } from '../vocabulary/ipvs-keys.js';
import type { DesiredState } from '../model/types.js';
import { serve, type RunningServer } from './http.js';
import type { HealthCounters } from './health.js';
import { messageOf } from '../util/errors.js';

/** kube-proxy's sync duration buckets: 1 ms doubling, 15 buckets (up to about 16 s). */
export const SYNC_DURATION_BUCKETS: readonly number[] = client.exponentialBuckets(0.001, 2, 15);

/**
 * kube-proxy's network programming buckets start at 0.25 s, too coarse for a proxy that programs
 * in milliseconds; ours add a millisecond range below them and keep all of theirs above.
 */
export const NETWORK_PROGRAMMING_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  ...range(1, 59, 1),
  ...range(60, 115, 5),
  ...range(120, 300, 30),
];

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** IPVS counters of one virtual server, attributed to the Service port it implements. */
export interface ServiceTrafficStats {
  namespace: string;
  service: string;
  /** The virtual server's port (or '' for a firewall-mark service). */
  port: string;
  /** 'TCP', 'UDP', 'SCTP' or 'FWM'. */
  protocol: string;
  /** The virtual IP (or "fwmark:N"). */
  address: string;
  connections: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  activeConnections: number;
  inactiveConnections: number;
}

/** Attribute a kernel dump to Services through the desired state; foreign virtual servers are left out. */
export function serviceTrafficStats(entries: readonly VirtualServerEntry[], desired: DesiredState): ServiceTrafficStats[] {
  const out: ServiceTrafficStats[] = [];
  for (const entry of entries) {
    const vs = entry.service;
    const owned = desired.virtualServers.get(serviceKey(vs));
    if (!owned) continue;
    let active = 0;
    let inactive = 0;
    for (const r of entry.reals) {
      active += r.activeConns;
      inactive += r.inactiveConns;
    }
    out.push({
      namespace: owned.owner.namespace,
      service: owned.owner.name,
      port: vs.fwmark !== undefined ? '' : String(vs.port),
      protocol: vs.fwmark !== undefined ? 'FWM' : vs.protocol,
      address: vs.fwmark !== undefined ? `fwmark:${vs.fwmark}` : vs.address,
      connections: Number(vs.stats.conns),
      packetsIn: Number(vs.stats.inpkts),
      packetsOut: Number(vs.stats.outpkts),
      bytesIn: Number(vs.stats.inbytes),
      bytesOut: Number(vs.stats.outbytes),
      activeConnections: active,
      inactiveConnections: inactive,
    });
  }
  return out;
}

const TRAFFIC_LABELS = ['namespace', 'service', 'port', 'protocol', 'address'] as const;
type TrafficLabel = (typeof TRAFFIC_LABELS)[number];

export type TrafficStatsSource = () => Promise<readonly ServiceTrafficStats[]>;

export interface ProxyMetricsOptions {
  /** When set, IPVS traffic is read on every scrape (one dump); otherwise the last setTrafficStats(). */
  trafficSource?: TrafficStatsSource;
}

export class ProxyMetrics implements HealthCounters {
  readonly registry = new client.Registry();
  private traffic: readonly ServiceTrafficStats[] = [];
  private readonly trafficSource: TrafficStatsSource | undefined;

  private readonly syncDuration: client.Histogram;
  private readonly lastSync: client.Gauge;
  private readonly lastQueued: client.Gauge;
  private readonly networkProgramming: client.Histogram;
  private readonly endpointPending: client.Gauge;
  private readonly endpointTotal: client.Counter;
  private readonly servicePending: client.Gauge;
  private readonly serviceTotal: client.Counter;
  private readonly noLocalEndpoints: client.Gauge<'traffic_policy'>;
  private readonly healthzTotal: client.Counter<'code'>;
  private readonly livezTotal: client.Counter<'code'>;
  private readonly kernelWrites: client.Counter<'kind'>;
  private readonly kernelWriteErrors: client.Counter<'kind' | 'code'>;
  private readonly syncErrors: client.Counter;

  constructor(options: ProxyMetricsOptions = {}) {
    this.trafficSource = options.trafficSource;
    const registers = [this.registry];
    this.syncDuration = new client.Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds',
      buckets: [...SYNC_DURATION_BUCKETS],
      registers,
    });
    this.lastSync = new client.Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'The last time proxy rules were successfully synced',
      registers,
    });
    this.lastQueued = new client.Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      help: 'The last time a sync of proxy rules was queued',
      registers,
    });
    this.networkProgramming = new client.Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In Cluster Network Programming Latency in seconds',
      buckets: [...NETWORK_PROGRAMMING_BUCKETS],
      registers,
    });
    this.endpointPending = new client.Gauge({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      help: 'Pending proxy rules Endpoint changes',
      registers,
    });
    this.endpointTotal = new client.Counter({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      help: 'Cumulative proxy rules Endpoint changes',
      registers,
    });
    this.servicePending = new client.Gauge({
      name: 'kubeproxy_sync_proxy_rules_service_changes_pending',
      help: 'Pending proxy rules Service changes',
      registers,
    });
    this.serviceTotal = new client.Counter({
      name: 'kubeproxy_sync_proxy_rules_service_changes_total',
      help: 'Cumulative proxy rules Service changes',
      registers,
    });
    this.noLocalEndpoints = new client.Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'],
      registers,
    });
    this.healthzTotal = new client.Counter({
      name: 'kubeproxy_proxy_healthz_total',
      help: 'Cumulative proxy healthz HTTP status',
      labelNames: ['code'],
      registers,
    });
    this.livezTotal = new client.Counter({
      name: 'kubeproxy_proxy_livez_total',
      help: 'Cumulative proxy livez HTTP status',
      labelNames: ['code'],
      registers,
    });
    this.kernelWrites = new client.Counter({
      name: 'ipvs_proxy_kernel_writes_total',
      help: 'Kernel objects written (IPVS operations, addresses, iptables restores), by kind',
      labelNames: ['kind'],
      registers,
    });
    this.kernelWriteErrors = new client.Counter({
      name: 'ipvs_proxy_kernel_write_errors_total',
      help: 'Kernel writes that failed, by kind and error code',
      labelNames: ['kind', 'code'],
      registers,
    });
    this.syncErrors = new client.Counter({
      name: 'ipvs_proxy_sync_errors_total',
      help: 'Syncs that did not complete',
      registers,
    });
    this.registerTrafficMetrics(registers);
  }

  // IPVS keeps its own cumulative counters; we mirror them at collect time. A counter resets
  // only when the kernel's does (virtual server recreated), which Prometheus' rate() handles.
  private registerTrafficMetrics(registers: client.Registry[]): void {
    // prom-client collects all metrics of a scrape concurrently: they share one dump.
    let inFlight: Promise<void> | undefined;
    const refresh = (): Promise<void> => {
      if (!this.trafficSource) return Promise.resolve();
      const source = this.trafficSource;
      inFlight ??= source()
        .then((stats) => {
          this.traffic = stats;
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    };
    const defs: Array<{ name: string; help: string; pick: (s: ServiceTrafficStats) => number; counter: boolean }> = [
      { name: 'ipvs_proxy_service_connections_total', help: 'Connections scheduled by the IPVS virtual server', pick: (s) => s.connections, counter: true },
      { name: 'ipvs_proxy_service_packets_in_total', help: 'Incoming packets of the IPVS virtual server', pick: (s) => s.packetsIn, counter: true },
      { name: 'ipvs_proxy_service_packets_out_total', help: 'Outgoing packets of the IPVS virtual server', pick: (s) => s.packetsOut, counter: true },
      { name: 'ipvs_proxy_service_bytes_in_total', help: 'Incoming bytes of the IPVS virtual server', pick: (s) => s.bytesIn, counter: true },
      { name: 'ipvs_proxy_service_bytes_out_total', help: 'Outgoing bytes of the IPVS virtual server', pick: (s) => s.bytesOut, counter: true },
      {
        name: 'ipvs_proxy_service_active_connections',
        help: 'Active connections over the real servers of the IPVS virtual server',
        pick: (s) => s.activeConnections,
        counter: false,
      },
      {
        name: 'ipvs_proxy_service_inactive_connections',
        help: 'Inactive connections over the real servers of the IPVS virtual server',
        pick: (s) => s.inactiveConnections,
        counter: false,
      },
    ];
    for (const def of defs) {
      const fill = (metric: { reset(): void; labels(l: Record<TrafficLabel, string>): { inc(v: number): void } | { set(v: number): void } }) => {
        metric.reset();
        for (const s of this.traffic) {
          const child = metric.labels({ namespace: s.namespace, service: s.service, port: s.port, protocol: s.protocol, address: s.address });
          const v = def.pick(s);
          if ('inc' in child) child.inc(v);
          else child.set(v);
        }
      };
      if (def.counter) {
        new client.Counter({
          name: def.name,
          help: def.help,
          labelNames: TRAFFIC_LABELS,
          registers,
          async collect() {
            await refresh();
            fill(this);
          },
        });
      } else {
        new client.Gauge({
          name: def.name,
          help: def.help,
          labelNames: TRAFFIC_LABELS,
          registers,
          async collect() {
            await refresh();
            fill(this);
          },
        });
      }
    }
  }

  /** A sync completed in `seconds`, at `at` (ms since the epoch). */
  syncCompleted(seconds: number, at: number = Date.now()): void {
    this.syncDuration.observe(seconds);
    this.lastSync.set(at / 1000);
  }

  syncFailed(): void {
    this.syncErrors.inc();
  }

  /** A change was queued for the next sync. */
  syncQueued(at: number = Date.now()): void {
    this.lastQueued.set(at / 1000);
  }

  /** One sample per EndpointSlice change applied: trigger-time annotation to kernel acknowledgement. */
  networkProgrammed(seconds: number): void {
    if (seconds >= 0) this.networkProgramming.observe(seconds);
  }

  /** Changes waiting for the next sync (Services and EndpointSlices by name). */
  setPending(services: number, endpoints: number): void {
    this.servicePending.set(services);
    this.endpointPending.set(endpoints);
  }

  /** Changes seen since start (added at each event). */
  countChanges(services: number, endpoints: number): void {
    if (services > 0) this.serviceTotal.inc(services);
    if (endpoints > 0) this.endpointTotal.inc(endpoints);
  }

  /** Services whose Local traffic policy left them without a local endpoint, by 'internal' / 'external'. */
  setNoLocalEndpoints(policy: 'internal' | 'external', count: number): void {
    this.noLocalEndpoints.set({ traffic_policy: policy }, count);
  }

  healthz(code: number): void {
    this.healthzTotal.inc({ code: String(code) });
  }

  livez(code: number): void {
    this.livezTotal.inc({ code: String(code) });
  }

  /** Kernel objects written, by kind: an IpvsOp's op, 'addAddress', 'deleteAddress', 'iptablesRestore'... */
  kernelWritten(kind: string, count = 1): void {
    if (count > 0) this.kernelWrites.inc({ kind }, count);
  }

  kernelWriteFailed(kind: string, code: string, count = 1): void {
    if (count > 0) this.kernelWriteErrors.inc({ kind, code }, count);
  }

  /** The latest IPVS traffic snapshot (after a verification dump), used when no trafficSource is set. */
  setTrafficStats(stats: readonly ServiceTrafficStats[]): void {
    this.traffic = stats;
  }

  /** The exposition text, as /metrics serves it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

export function metricsHandler(registry: client.Registry) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/proxyMode') {
      // kube-proxy answers its mode here; some tooling checks it.
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('ipvs');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('404 page not found\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`collecting metrics failed: ${messageOf(err)}\n`);
      },
    );
  };
}

export interface MetricsServerOptions {
  /** "127.0.0.1:10249" by default in the agent's settings. */
  bindAddress: string;
  registry: client.Registry;
}

/** Serve /metrics (and /proxyMode). Rejects with ListenError when the address cannot be bound. */
export function startMetricsServer(options: MetricsServerOptions): Promise<RunningServer> {
  return serve(options.bindAddress, metricsHandler(options.registry));
}
