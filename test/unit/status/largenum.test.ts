import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLargeNumber } from '../../../src/status/largenum.js';

test('below 100 million: printed whole in 9 columns', () => {
  assert.equal(formatLargeNumber(0n, false), '        0');
  assert.equal(formatLargeNumber(99_999_999n, false), ' 99999999');
});

test('K from 100 million up to 1 billion, truncated', () => {
  assert.equal(formatLargeNumber(100_000_000n, false), '  100000K');
  assert.equal(formatLargeNumber(123_456_789n, false), '  123456K');
  assert.equal(formatLargeNumber(999_999_999n, false), '  999999K');
});

test('M from 1 billion up to 100 billion', () => {
  assert.equal(formatLargeNumber(1_000_000_000n, false), '    1000M');
  assert.equal(formatLargeNumber(1_999_999_999n, false), '    1999M');
  assert.equal(formatLargeNumber(99_999_999_999n, false), '   99999M');
});

test('G from 100 billion up to 100 trillion', () => {
  assert.equal(formatLargeNumber(100_000_000_000n, false), '     100G');
  assert.equal(formatLargeNumber(99_999_999_999_999n, false), '   99999G');
});

test('T from 100 trillion, up to the largest 64-bit value', () => {
  assert.equal(formatLargeNumber(100_000_000_000_000n, false), '     100T');
  assert.equal(formatLargeNumber(18_446_744_073_709_551_615n, false), '18446744T');
});

test('--exact: 9 columns up to 8 digits, then one space before the digits', () => {
  assert.equal(formatLargeNumber(7n, true), '        7');
  assert.equal(formatLargeNumber(12_345_678n, true), ' 12345678');
  assert.equal(formatLargeNumber(123_456_789n, true), ' 123456789');
  assert.equal(formatLargeNumber(18_446_744_073_709_551_615n, true), ' 18446744073709551615');
});
