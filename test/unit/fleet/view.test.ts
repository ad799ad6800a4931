import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeFleet, fleetJson, formatAge, formatFleet, formatLatency, type FleetNode } from '../../../src/fleet/reader.js';
import { bucketIndex, HISTOGRAM_SCHEMA } from '../../../src/fleet/latency.js';
import { parseNodeRecord, FleetRecordError, type NodeRecord } from '../../../src/fleet/record.js';

const NOW = 1_764_093_600_000;

function rec(node: string, over: Partial<NodeRecord> = {}, samplesMs: number[] = []): NodeRecord {
  const m = new Map<number, number>();
  for (const v of samplesMs) m.set(bucketIndex(v), (m.get(bucketIndex(v)) ?? 0) + 1);
  return {
    v: 1,
    node,
    agentVersion: '0.1.0',
    publishedAt: NOW - 1_000,
    ttlMs: 10_000,
    healthy: true,
    lastSync: { at: NOW - 2_000, durationMs: 12 },
    counts: { virtualServers: 10, realServers: 20, addresses: 5 },
    digest: 'a'.repeat(64),
    resourceVersions: { services: '100', endpointSlices: '200' },
    errors: { syncErrors: 0, last: null },
    drift: { last: 0, total: 0 },
    latency: {
      schema: HISTOGRAM_SCHEMA,
      windowMs: 600_000,
      count: samplesMs.length,
      p50Ms: null,
      p99Ms: null,
      buckets: [...m.entries()].sort((a, b) => a[0] - b[0]),
    },
    ...over,
  };
}

function node(record: NodeRecord | undefined, name = record?.node ?? 'gone', lastSeenAt = NOW - 1_000): FleetNode {
  return { name, lastSeenAt, record };
}

test('agreement is decided among live nodes at the same resourceVersions', () => {
  const nodes = [
    node(rec('a')),
    node(rec('b')),
    node(rec('c', { digest: 'c'.repeat(64) })),
    node(rec('d', { resourceVersions: { services: '101', endpointSlices: '200' }, digest: 'd'.repeat(64) })),
    node(rec('e', { publishedAt: NOW - 20_000, digest: 'e'.repeat(64) })),
    node(undefined, 'f', NOW - 3_600_000),
    node(rec('g', { digest: null, resourceVersions: null, lastSync: null })),
  ];
  const view = analyzeFleet(nodes, NOW);
  const by = new Map(view.nodes.map((n) => [n.node, n]));
  assert.equal(by.get('a')!.agreement, 'agrees');
  assert.equal(by.get('b')!.agreement, 'agrees');
  assert.equal(by.get('c')!.agreement, 'disagrees');
  assert.equal(by.get('d')!.agreement, 'no-peers', 'other resourceVersions: nothing to compare with');
  assert.equal(by.get('e')!.state, 'silent', 'heartbeat older than its TTL');
  assert.equal(by.get('e')!.agreement, 'unknown');
  assert.equal(by.get('f')!.state, 'silent', 'key expired, still listed from the registry');
  assert.equal(by.get('f')!.lastSeenAgeMs, 3_600_000);
  assert.equal(by.get('g')!.agreement, 'unknown');
  assert.deepEqual(view.summary, { nodes: 7, healthy: 5, unhealthy: 0, silent: 2, disagreeing: 1 });
});

test('a two-node split is disagreement on both sides', () => {
  const view = analyzeFleet([node(rec('a')), node(rec('b', { digest: 'b'.repeat(64) }))], NOW);
  assert.deepEqual(
    view.nodes.map((n) => n.agreement),
    ['disagrees', 'disagrees'],
  );
});

test('fleet latency merges the samples of live nodes only', () => {
  const fast = Array.from({ length: 99 }, () => 2);
  const view = analyzeFleet(
    [
      node(rec('a', {}, fast)),
      node(rec('b', {}, [400])),
      node(
        rec(
          'c',
          { publishedAt: NOW - 60_000 },
          Array.from({ length: 1000 }, () => 5_000),
        ),
      ),
    ],
    NOW,
  );
  assert.equal(view.latency.count, 100);
  assert.ok(Math.abs(view.latency.p50Ms! - 2) / 2 < 0.045);
  assert.ok(Math.abs(view.latency.p99Ms! - 2) / 2 < 0.045, 'rank 99 of 100 is still a fast sample');
  assert.equal(view.latency.windowMs, 600_000);
});

test('formatFleet lists every node, silent ones included, with the fleet summary', () => {
  const nodes = [
    node(rec('node-a', {}, [3, 4, 5])),
    node(rec('node-b', { healthy: false, errors: { syncErrors: 2, last: 'addReal 10.244.1.5: EINVAL' } })),
    node(undefined, 'node-c', NOW - 125_000),
  ];
  const text = formatFleet(nodes, NOW);
  const lines = text.split('\n');
  assert.match(lines[0], /^NODE\s+STATE\s+LAST SYNC\s+HEARTBEAT\s+VERSION\s+DIGEST\s+AGREEMENT/);
  assert.match(lines[1], /^node-a\s+healthy\s+2\.0s ago\s+1\.0s ago\s+0\.1\.0\s+aaaaaaaaaaaa\s+agrees\s+100\s+200\s+0\s+0\s+[34]\.\d+ms/);
  assert.match(lines[2], /^node-b\s+unhealthy\s+/);
  assert.match(lines[3], /^node-c\s+silent\s+never\s+2m05s ago\s+-/);
  assert.match(text, /3 nodes: 1 healthy, 1 unhealthy, 1 silent; 0 disagreeing/);
  assert.match(text, /network programming latency \(all nodes, last 10m00s\): p50 [34]\.\d+ms, p99 \d\.\d+ms over 3 samples/);
  assert.match(text, /node-b: last sync error: addReal 10\.244\.1\.5: EINVAL/);
  assert.equal(formatFleet([], NOW), 'no node has published to this fleet status store\n');
});

test('fleetJson is plain data', () => {
  const doc = fleetJson([node(rec('a'))], NOW);
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  assert.equal(doc.nodes[0].digest, 'a'.repeat(64));
});

test('formatters', () => {
  assert.equal(formatAge(850), '850ms');
  assert.equal(formatAge(4_200), '4.2s');
  assert.equal(formatAge(185_000), '3m05s');
  assert.equal(formatAge(7_800_000), '2h10m');
  assert.equal(formatAge(3 * 86_400_000 + 4 * 3_600_000), '3d4h');
  assert.equal(formatAge(null), '-');
  assert.equal(formatLatency(0.8123), '0.812ms');
  assert.equal(formatLatency(12.44), '12.4ms');
  assert.equal(formatLatency(1_254), '1.25s');
  assert.equal(formatLatency(null), '-');
});

test('records of another layout are rejected with the key and the field', () => {
  assert.throws(() => parseNodeRecord('k', '{'), FleetRecordError);
  assert.throws(() => parseNodeRecord('k', JSON.stringify({ ...rec('a'), v: 2 })), /k: v:/);
  assert.deepEqual(parseNodeRecord('k', JSON.stringify(rec('a'))), rec('a'));
});

test('the table shows "-" for the empty resourceVersions of a manifest source, keeping its columns', () => {
  const rvs = { services: '', endpointSlices: '' };
  const text = formatFleet([node(rec('a', { resourceVersions: rvs })), node(rec('b', { resourceVersions: rvs }))], NOW);
  const row = text.split('\n').find((l) => l.startsWith('a '))!;
  const cells = row.split(/\s{2,}/);
  assert.equal(cells.length, 14, row);
  assert.equal(cells[6], 'agrees');
  assert.equal(cells[7], '-');
  assert.equal(cells[8], '-');
});
