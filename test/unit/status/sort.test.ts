import assert from 'node:assert/strict';
import { test } from 'node:test';
import { glibcMergeSort, sortRealsLikeIpvsadm, sortServicesLikeIpvsadm, wrappedDifference } from '../../../src/status/sort.js';
import { serviceColumn } from '../../../src/status/service-text.js';
import { fwmark, proto, real, tcp } from './builders.js';
import type { VirtualServer } from '../../../src/vocabulary/ipvs.js';

const names = (list: readonly VirtualServer[]): string[] => list.map(serviceColumn);

test('differences wrap like an unsigned subtraction read as a signed int', () => {
  assert.equal(wrappedDifference(1, 2), -1);
  assert.ok(wrappedDifference(0xc0a8320a, 0x0a600001) < 0, '192.168.50.10 - 10.96.0.1 is negative');
  assert.ok(wrappedDifference(0, 3_000_000_000) > 0, '0 - 3e9 is positive');
  assert.equal(wrappedDifference(0x80000000, 0), -0x80000000);
});

test('services: fwmark, family, protocol, address, port, with the wrap quirks', () => {
  // In the order the kernel dumps them (its hash table order).
  const dumped: VirtualServer[] = [
    tcp('fd00::1', 80),
    tcp('10.96.0.1', 80),
    tcp('192.168.50.10', 80),
    tcp('10.96.0.34', 80),
    tcp('10.96.0.35', 80),
    proto('UDP', '10.96.0.33', 5060),
    tcp('10.96.0.30', 443),
    fwmark(77),
    fwmark(78, 'inet6'),
    fwmark(3_000_000_000),
  ];
  assert.deepEqual(names(sortServicesLikeIpvsadm(dumped, (s) => s)), [
    'FWM  -1294967296', // 0 - 3e9 wraps positive: this mark sorts before every non-fwmark service
    'TCP  192.168.50.10:80', // 0xc0a8320a - 0x0a600001 wraps negative
    'TCP  10.96.0.1:80',
    'TCP  10.96.0.30:443',
    'TCP  10.96.0.34:80',
    'TCP  10.96.0.35:80',
    'UDP  10.96.0.33:5060',
    'TCP  [fd00::1]:80',
    'FWM  77',
    'FWM  78 IPv6',
  ]);
});

test('protocols sort by number and ports last', () => {
  const dumped = [proto('SCTP', '10.0.0.1', 1), proto('UDP', '10.0.0.1', 1), tcp('10.0.0.1', 9), tcp('10.0.0.1', 8)];
  assert.deepEqual(names(sortServicesLikeIpvsadm(dumped, (s) => s)), ['TCP  10.0.0.1:8', 'TCP  10.0.0.1:9', 'UDP  10.0.0.1:1', 'SCTP 10.0.0.1:1']);
});

test('a non-transitive comparison: the result depends on the dump order, as in glibc msort', () => {
  // 1.0.0.0 < 97.0.0.0 < 193.0.0.0 < 1.0.0.0 under the wrapping comparison.
  const a = tcp('1.0.0.0', 80);
  const b = tcp('97.0.0.0', 80);
  const c = tcp('193.0.0.0', 80);
  assert.deepEqual(names(sortServicesLikeIpvsadm([a, b, c], (s) => s)), ['TCP  1.0.0.0:80', 'TCP  97.0.0.0:80', 'TCP  193.0.0.0:80']);
  assert.deepEqual(names(sortServicesLikeIpvsadm([c, b, a], (s) => s)), ['TCP  193.0.0.0:80', 'TCP  1.0.0.0:80', 'TCP  97.0.0.0:80']);
});

test('merge sort is stable and splits at n/2', () => {
  const items = [3, 1, 2, 1, 3, 0].map((k, i) => ({ k, i }));
  const sorted = glibcMergeSort(items, (x, y) => x.k - y.k);
  assert.deepEqual(
    sorted.map((x) => `${x.k}.${x.i}`),
    ['0.5', '1.1', '1.3', '2.2', '3.0', '3.4'],
  );
});

test('real servers: address with the wrap quirk, then port; IPv6 word by word', () => {
  const reals = [real('10.244.0.2', 80), real('192.168.1.1', 80), real('10.244.0.2', 79), real('10.244.0.1', 9000)];
  assert.deepEqual(
    sortRealsLikeIpvsadm(reals).map((r) => `${r.address}:${r.port}`),
    ['192.168.1.1:80', '10.244.0.1:9000', '10.244.0.2:79', '10.244.0.2:80'],
  );
  const six = [real('fd00::2', 1), real('fd00::1:0', 1), real('fd00::1', 1)];
  assert.deepEqual(
    sortRealsLikeIpvsadm(six).map((r) => r.address),
    ['fd00::1', 'fd00::2', 'fd00::1:0'],
  );
});
