import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NETWORK_PROGRAMMING_BUCKETS, ProxyMetrics, serviceTrafficStats, startMetricsServer, type ServiceTrafficStats } from '../../../src/ops/metrics.js';
import type { IpvsStats, VirtualServerEntry } from '../../../src/vocabulary/ipvs.js';
import type { DesiredState, DesiredVirtualServer } from '../../../src/model/types.js';
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';

async function scrape(metrics: ProxyMetrics): Promise<string> {
  const server = await startMetricsServer({ bindAddress: '127.0.0.1:0', registry: metrics.registry });
  try {
    const r = await fetch(`http://127.0.0.1:${server.address.port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    return await r.text();
  } finally {
    await server.close();
  }
}

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => '\\' + c)} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `metric ${name} present`);
  return Number(m[1]);
}

test('kube-proxy names, types and values scraped over HTTP', async () => {
  const m = new ProxyMetrics();
  m.syncCompleted(0.0042, 1_764_093_600_000);
  m.syncQueued(1_764_093_599_500);
  m.networkProgrammed(0.0031);
  m.networkProgrammed(0.7);
  m.setPending(2, 5);
  m.countChanges(3, 7);
  m.countChanges(1, 0);
  m.setNoLocalEndpoints('external', 4);
  m.setNoLocalEndpoints('internal', 1);
  m.kernelWritten('addService', 3);
  m.kernelWritten('addReal', 10);
  m.kernelWriteFailed('addReal', 'EEXIST');
  m.syncFailed();
  const text = await scrape(m);

  assert.match(text, /^# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram$/m);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001"}'), 0);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.008"}'), 1);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_duration_seconds_count'), 1);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds'), 1_764_093_600);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds'), 1_764_093_599.5);

  assert.match(text, /^# TYPE kubeproxy_network_programming_duration_seconds histogram$/m);
  assert.equal(sample(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="0.001"}'), 0);
  assert.equal(sample(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="0.005"}'), 1);
  assert.equal(sample(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="1"}'), 2);
  assert.equal(sample(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="300"}'), 2);

  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_service_changes_pending'), 2);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending'), 5);
  assert.match(text, /^# TYPE kubeproxy_sync_proxy_rules_service_changes_total counter$/m);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_service_changes_total'), 4);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_endpoint_changes_total'), 7);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="external"}'), 4);
  assert.equal(sample(text, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"}'), 1);
  assert.equal(sample(text, 'ipvs_proxy_kernel_writes_total{kind="addService"}'), 3);
  assert.equal(sample(text, 'ipvs_proxy_kernel_writes_total{kind="addReal"}'), 10);
  assert.equal(sample(text, 'ipvs_proxy_kernel_write_errors_total{kind="addReal",code="EEXIST"}'), 1);
  assert.equal(sample(text, 'ipvs_proxy_sync_errors_total'), 1);
  assert.match(text, /^# TYPE kubeproxy_proxy_healthz_total counter$/m);
  assert.match(text, /^# TYPE kubeproxy_proxy_livez_total counter$/m);
});

test('network programming buckets start at 1 ms and keep kube-proxy buckets above 0.25 s', () => {
  assert.equal(NETWORK_PROGRAMMING_BUCKETS[0], 0.001);
  for (const b of [0.25, 0.5, 1, 2, 59, 60, 65, 115, 120, 150, 300]) assert.ok(NETWORK_PROGRAMMING_BUCKETS.includes(b), `bucket ${b}`);
  const sorted = [...NETWORK_PROGRAMMING_BUCKETS].sort((a, b) => a - b);
  assert.deepEqual([...NETWORK_PROGRAMMING_BUCKETS], sorted);
  assert.equal(new Set(NETWORK_PROGRAMMING_BUCKETS).size, NETWORK_PROGRAMMING_BUCKETS.length);
});

test('each agent has its own registry', async () => {
  const a = new ProxyMetrics();
  const b = new ProxyMetrics();
  a.syncFailed();
  assert.equal(sample(await b.text(), 'ipvs_proxy_sync_errors_total'), 0);
  assert.equal(sample(await a.text(), 'ipvs_proxy_sync_errors_total'), 1);
});

const zero: IpvsStats = { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n };

function entry(address: string, port: number, stats: Partial<IpvsStats>, conns: Array<[number, number]>): VirtualServerEntry {
  return {
    service: { family: 'inet', protocol: 'TCP', address, port, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32, stats: { ...zero, ...stats } },
    reals: conns.map(([a, i], n) => ({
      family: 'inet',
      address: `10.244.0.${n + 1}`,
      port: 8080,
      forward: 'masq',
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
      activeConns: a,
      inactiveConns: i,
      persistConns: 0,
      stats: zero,
    })),
  };
}

test('IPVS per-service stats are attributed through the desired state; foreign services are left out', async () => {
  const ours = entry('10.96.0.10', 53, { conns: 12n, inpkts: 100n, outpkts: 90n, inbytes: 5000n, outbytes: 7000n }, [
    [2, 1],
    [3, 0],
  ]);
  const foreign = entry('192.168.1.50', 80, { conns: 99n }, []);
  const dvs: DesiredVirtualServer = {
    service: { family: 'inet', protocol: 'TCP', address: '10.96.0.10', port: 53, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
    reals: [],
    owner: { namespace: 'kube-system', name: 'kube-dns', portName: 'dns-tcp', kind: 'ClusterIP' },
    externalLocal: false,
    sourceRanges: [],
  };
  const desired: DesiredState = { virtualServers: new Map([[serviceKey(dvs.service), dvs]]), addresses: new Map() };
  const stats = serviceTrafficStats([ours, foreign], desired);
  assert.equal(stats.length, 1);
  assert.deepEqual(stats[0], {
    namespace: 'kube-system',
    service: 'kube-dns',
    port: '53',
    protocol: 'TCP',
    address: '10.96.0.10',
    connections: 12,
    packetsIn: 100,
    packetsOut: 90,
    bytesIn: 5000,
    bytesOut: 7000,
    activeConnections: 5,
    inactiveConnections: 1,
  });

  const m = new ProxyMetrics();
  m.setTrafficStats(stats);
  const text = await scrape(m);
  const l = '{namespace="kube-system",service="kube-dns",port="53",protocol="TCP",address="10.96.0.10"}';
  assert.match(text, /^# TYPE ipvs_proxy_service_connections_total counter$/m);
  assert.equal(sample(text, `ipvs_proxy_service_connections_total${l}`), 12);
  assert.equal(sample(text, `ipvs_proxy_service_packets_in_total${l}`), 100);
  assert.equal(sample(text, `ipvs_proxy_service_packets_out_total${l}`), 90);
  assert.equal(sample(text, `ipvs_proxy_service_bytes_in_total${l}`), 5000);
  assert.equal(sample(text, `ipvs_proxy_service_bytes_out_total${l}`), 7000);
  assert.equal(sample(text, `ipvs_proxy_service_active_connections${l}`), 5);
  assert.equal(sample(text, `ipvs_proxy_service_inactive_connections${l}`), 1);
  assert.doesNotMatch(text, /192\.168\.1\.50/);
});

test('with a traffic source, each scrape reads one fresh dump shared by all traffic metrics', async () => {
  let calls = 0;
  const snapshot = (conns: number): ServiceTrafficStats[] => [
    {
      namespace: 'default',
      service: 'web',
      port: '80',
      protocol: 'TCP',
      address: '10.96.0.20',
      connections: conns,
      packetsIn: conns,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      activeConnections: 0,
      inactiveConnections: 0,
    },
  ];
  const m = new ProxyMetrics({ trafficSource: async () => snapshot(++calls * 10) });
  const l = '{namespace="default",service="web",port="80",protocol="TCP",address="10.96.0.20"}';
  let text = await scrape(m);
  assert.equal(calls, 1);
  assert.equal(sample(text, `ipvs_proxy_service_connections_total${l}`), 10);
  assert.equal(sample(text, `ipvs_proxy_service_packets_in_total${l}`), 10);
  text = await scrape(m);
  assert.equal(calls, 2);
  assert.equal(sample(text, `ipvs_proxy_service_connections_total${l}`), 20);
});

test('a removed service disappears from the traffic metrics', async () => {
  const m = new ProxyMetrics();
  m.setTrafficStats([
    {
      namespace: 'a',
      service: 'gone',
      port: '80',
      protocol: 'TCP',
      address: '10.96.0.30',
      connections: 1,
      packetsIn: 0,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      activeConnections: 0,
      inactiveConnections: 0,
    },
  ]);
  assert.match(await m.text(), /service="gone"/);
  m.setTrafficStats([]);
  assert.doesNotMatch(await m.text(), /service="gone"/);
});

test('/proxyMode answers ipvs and unknown paths 404', async () => {
  const m = new ProxyMetrics();
  const server = await startMetricsServer({ bindAddress: '127.0.0.1:0', registry: m.registry });
  try {
    let r = await fetch(`http://127.0.0.1:${server.address.port}/proxyMode`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(await r.text(), 'ipvs');
    r = await fetch(`http://127.0.0.1:${server.address.port}/nope`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 404);
    await r.text();
  } finally {
    await server.close();
  }
});
