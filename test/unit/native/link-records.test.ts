// Address and local-route records without a kernel, through the tests' build of the addon: link op
// records -> rtnetlink requests -> address and route dump records round trips, failure records,
// and malformed records rejected on both sides of the boundary.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTestAddon } from '../../support/native-test-addon.js';
import { decodeAddresses, decodeLocalRoutes, decodeResults, encodeLinkOps } from '../../../src/native/records.js';
import type { OpResult } from '../../../src/vocabulary/ipvs.js';
import type { AddressOp } from '../../../src/vocabulary/addresses.js';

const native = loadTestAddon();

const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;

const OPS: AddressOp[] = [
  { op: 'add', ifindex: 7, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
  { op: 'delete', ifindex: 7, family: 'inet6', address: 'FD00:0010:0096:0000:0000:0000:0000:0001', prefixLen: 128 },
  { op: 'add', ifindex: 0x7fffffff, family: 'inet', address: '255.255.255.255', prefixLen: 0 },
  { op: 'add', ifindex: 7, family: 'inet6', address: '::', prefixLen: 64 },
  { op: 'delete', ifindex: 9, family: 'inet', address: '192.168.1.20', prefixLen: 24 },
];

/** The nlmsg type of each message in a stream of requests. */
function messageTypes(wire: Buffer): number[] {
  const types: number[] = [];
  for (let off = 0; off < wire.length; off += (wire.readUInt32LE(off) + 3) & ~3) types.push(wire.readUInt16LE(off + 4));
  return types;
}

test('address ops survive records -> netlink -> address dump records, canonical', () => {
  const wire = native.encodeLinkOps(encodeLinkOps(OPS), 'address');
  assert.deepEqual(messageTypes(wire), [RTM_NEWADDR, RTM_DELADDR, RTM_NEWADDR, RTM_NEWADDR, RTM_DELADDR]);
  const back = decodeAddresses(native.decodeAddressDump(wire));
  assert.deepEqual(
    back,
    OPS.map((o) => ({
      ifindex: o.ifindex,
      ifname: '',
      family: o.family,
      address: o.address.startsWith('FD00') ? 'fd00:10:96::1' : o.address,
      prefixLen: o.prefixLen,
    })),
  );
});

test("route ops survive records -> netlink -> route dump records: the agent's own routes of the asked link", () => {
  const wire = native.encodeLinkOps(encodeLinkOps(OPS), 'route');
  assert.deepEqual(messageTypes(wire), [RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWROUTE, RTM_NEWROUTE, RTM_DELROUTE]);
  // Protocol 201 and metric 1024 make them ours; routes through other links are not link 7's.
  assert.deepEqual(decodeLocalRoutes(native.decodeRouteDump(wire, 7)), [
    { ifindex: 7, family: 'inet', address: '10.96.0.1', prefixLen: 32, protocol: 201, ours: true },
    { ifindex: 7, family: 'inet6', address: 'fd00:10:96::1', prefixLen: 128, protocol: 201, ours: true },
    { ifindex: 7, family: 'inet6', address: '::', prefixLen: 64, protocol: 201, ours: true },
  ]);
  assert.deepEqual(
    decodeLocalRoutes(native.decodeRouteDump(wire, 9)).map((r) => `${r.address}/${r.prefixLen}`),
    ['192.168.1.20/24'],
  );
});

test('captured address dump replies decode to the addresses capture-fixtures.sh set', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fx = JSON.parse(readFileSync(path.join(here, '..', '..', 'fixtures', 'native', 'ipvs-replies.json'), 'utf8')) as { addresses: string[] };
  const replies = Buffer.concat(fx.addresses.map((h) => Buffer.from(h, 'hex')));
  const lines = decodeAddresses(native.decodeAddressDump(replies)).map((a) => `${a.ifindex} ${a.family} ${a.address}/${a.prefixLen}`);
  // Loopback's, and those of the capture's routes0 (plus the link-local address the kernel gave it).
  assert.deepEqual(lines.filter((l) => !l.includes(' fe80:')).sort(), ['1 inet 127.0.0.1/8', '1 inet6 ::1/128', '2 inet 10.0.0.1/8', '2 inet6 fd00::1/8']);
  assert.equal(lines.filter((l) => /^2 inet6 fe80:.*\/64$/.test(l)).length, 1);
});

test('failure records: one result per op, index, errno, code and a message longer than a string field', () => {
  const long = `invalid IPv4 address '${'1'.repeat(300)}'`;
  const buf = native.encodeFailures([
    { errno: 0, message: '' },
    { errno: 17, message: 'Address already assigned' },
    { errno: 0, message: 'ignored: a success carries no message' },
    { errno: 22, message: long },
    { errno: 105, message: 'No buffer space available' },
  ]);
  const expected: OpResult[] = [
    { ok: true },
    { ok: false, errno: 17, code: 'EEXIST', message: 'Address already assigned' },
    { ok: true },
    { ok: false, errno: 22, code: 'EINVAL', message: long },
    { ok: false, errno: 105, code: 'ENOBUFS', message: 'No buffer space available' },
  ];
  assert.deepEqual(decodeResults(buf, 5), expected);
  // A failure for an op the batch does not have, a cut record or trailing bytes never decode.
  assert.throws(() => decodeResults(buf, 4), /failure record for operation 4 of a batch of 4/);
  for (let n = 0; n < buf.length; n++) assert.throws(() => decodeResults(buf.subarray(0, n), 5), RangeError, `cut at ${n}`);
  assert.throws(() => decodeResults(Buffer.concat([buf, Buffer.from([0])]), 5), /trailing bytes/);
  assert.deepEqual(decodeResults(native.encodeFailures([{ errno: 0, message: '' }]), 1), [{ ok: true }]);
});

test('a malformed field is a TypeError of the encoder; an address or prefix that does not parse fails its own op', () => {
  const base = OPS[0];
  assert.throws(() => encodeLinkOps([{ ...base, address: '1'.repeat(256) }]), /address is too long \(256 bytes\)/);
  assert.throws(() => encodeLinkOps([{ ...base, address: '10.0.0.\u0172' }]), /outside latin1/);
  assert.throws(() => encodeLinkOps([{ ...base, ifindex: -1 }]), /ifindex must be an integer in 0\.\.2147483647/);
  assert.throws(() => encodeLinkOps([{ ...base, ifindex: 1.5 }]), /ifindex must be an integer/);
  assert.throws(() => encodeLinkOps([{ ...base, prefixLen: 256 }]), /prefixLen must be an integer in 0\.\.255/);
  assert.throws(() => encodeLinkOps([{ ...base, family: 'inet4' as never }]), /unknown family inet4/);
  assert.throws(() => encodeLinkOps([{ ...base, op: 'replace' as never }]), /unknown link operation replace/);
  assert.throws(() => encodeLinkOps([{ ...base, op: 'toString' as never }]), /unknown link operation toString/);
  // These reach the addon, which marks the op invalid (EINVAL, never sent); the hook throws its reason.
  assert.throws(() => native.encodeLinkOps(encodeLinkOps([{ ...base, address: '10.96.0.300' }]), 'address'), /invalid IPv4 address '10\.96\.0\.300'/);
  assert.throws(() => native.encodeLinkOps(encodeLinkOps([{ ...base, family: 'inet6' }]), 'route'), /invalid IPv6 address '10\.96\.0\.1'/);
  assert.throws(() => native.encodeLinkOps(encodeLinkOps([{ ...base, prefixLen: 33 }]), 'address'), /prefix length 33 out of range for an IPv4 address/);
});

test('every truncation of link op records, trailing bytes and unknown kinds are rejected by the addon', () => {
  const records = encodeLinkOps(OPS);
  for (let n = 0; n < records.length; n++) {
    assert.throws(
      () => native.encodeLinkOps(records.subarray(0, n), 'address'),
      (e: unknown) => e instanceof TypeError && /truncated|exceeds/.test(e.message),
      `cut at ${n}`,
    );
  }
  assert.throws(() => native.encodeLinkOps(Buffer.concat([records, Buffer.from([1])]), 'address'), /trailing bytes/);
  const badKind = Buffer.from(records);
  badKind[4] = 3;
  assert.throws(() => native.encodeLinkOps(badKind, 'route'), /unknown link operation kind 3/);
  const badIndex = Buffer.from(records);
  badIndex.writeUInt32LE(0x80000000, 5);
  assert.throws(() => native.encodeLinkOps(badIndex, 'route'), /link index 2147483648 out of range/);
});

test('address and route dump records that are cut or trail bytes are rejected', () => {
  const wire = native.encodeLinkOps(encodeLinkOps(OPS), 'route');
  const routes = native.decodeRouteDump(wire, 7);
  const addresses = native.decodeAddressDump(native.encodeLinkOps(encodeLinkOps(OPS), 'address'));
  for (const [buf, decode] of [
    [routes, decodeLocalRoutes],
    [addresses, decodeAddresses],
  ] as const) {
    for (let n = 0; n < buf.length; n++) assert.throws(() => decode(buf.subarray(0, n)), RangeError, `cut at ${n}`);
    assert.throws(() => decode(Buffer.concat([buf, Buffer.from([0])])), /trailing bytes/);
  }
});
