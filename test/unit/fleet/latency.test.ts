import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketIndex, bucketValue, LatencyWindow, mergeBuckets, quantile, type SparseBuckets } from '../../../src/fleet/latency.js';

function exactQuantile(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1];
}

function histogram(samples: number[]): SparseBuckets {
  const m = new Map<number, number>();
  for (const v of samples) m.set(bucketIndex(v), (m.get(bucketIndex(v)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

test('a bucket value is within 4.5 % of any sample it holds', () => {
  for (const v of [0.15, 0.9, 1, 3.7, 42, 999, 12_345, 3_600_000]) {
    const rel = Math.abs(bucketValue(bucketIndex(v)) - v) / v;
    assert.ok(rel < 0.045, `${v}: ${rel}`);
  }
  assert.equal(bucketIndex(0), 0);
  assert.equal(bucketIndex(-5), 0);
  assert.equal(bucketIndex(1e12), 255);
});

test('fleet quantiles come from merged buckets, not averaged percentiles', () => {
  // A fast node with many samples and a slow node with few: the fleet p50 is the fast one's.
  const fast = Array.from({ length: 900 }, (_, i) => 2 + (i % 10) * 0.1);
  const slow = Array.from({ length: 100 }, (_, i) => 800 + i);
  const merged = mergeBuckets([histogram(fast), histogram(slow)]);
  const all = [...fast, ...slow];
  for (const q of [0.5, 0.9, 0.99]) {
    const got = quantile(merged, q)!;
    const want = exactQuantile(all, q);
    assert.ok(Math.abs(got - want) / want < 0.045, `q${q}: ${got} vs ${want}`);
  }
  // Averaging the two nodes' medians would say about 400 ms: far from the truth.
  assert.ok(quantile(merged, 0.5)! < 3);
  assert.equal(quantile([], 0.5), undefined);
});

test('the window forgets old samples and stays bounded', () => {
  const w = new LatencyWindow({ windowMs: 10_000, slotMs: 1_000 });
  const t0 = 1_000_000;
  for (let i = 0; i < 100; i++) w.record(5, t0 + i * 10);
  assert.equal(w.summary(t0 + 1_000).count, 100);
  w.record(50, t0 + 6_000);
  let s = w.summary(t0 + 8_000);
  assert.equal(s.count, 101);
  s = w.summary(t0 + 12_500);
  assert.equal(s.count, 1, 'the first slot expired');
  assert.ok(Math.abs(s.p50Ms! - 50) / 50 < 0.045);
  s = w.summary(t0 + 100_000);
  assert.equal(s.count, 0);
  assert.equal(s.p99Ms, undefined);
  w.record(Number.NaN, t0);
  w.record(-1, t0);
  assert.equal(w.summary(t0 + 100_000).count, 0, 'invalid samples ignored');
});

test('a late sample counts in the newest slot', () => {
  const w = new LatencyWindow({ windowMs: 10_000, slotMs: 1_000 });
  w.record(5, 50_000);
  w.record(7, 45_000);
  assert.equal(w.summary(50_000).count, 2);
});
