import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDurationMs, parseDurationMs } from '../../../src/config/duration.js';

describe('durations', () => {
  const good: Array<[string, number]> = [
    ['30s', 30_000],
    ['1m', 60_000],
    ['500ms', 500],
    ['0s', 0],
    ['0', 0],
    ['1m0s', 60_000],
    ['1h2m3s', 3_723_000],
    ['1.5s', 1500],
    ['2h', 7_200_000],
    ['250us', 0.25],
    ['1000000ns', 1],
    [' 15m ', 900_000],
  ];
  for (const [text, ms] of good) {
    it(`reads '${text}' as ${ms} ms`, () => assert.equal(parseDurationMs(text), ms));
  }

  for (const text of ['', '30', '-1s', 's', '1x', '1m 30s', '30 s', 'abc', '1.2.3s', '0x10s']) {
    it(`refuses '${text}'`, () => assert.equal(parseDurationMs(text), undefined));
  }

  it('formats milliseconds back in the shortest exact form', () => {
    assert.equal(formatDurationMs(0), '0s');
    assert.equal(formatDurationMs(30_000), '30s');
    assert.equal(formatDurationMs(90_000), '1m30s');
    assert.equal(formatDurationMs(3_600_500), '1h500ms');
    for (const ms of [1, 999, 1000, 61_001, 86_400_000]) assert.equal(parseDurationMs(formatDurationMs(ms)), ms);
  });
});
