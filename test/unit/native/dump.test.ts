// Replies captured from the Debian 6.1 kernel (test/unit/native/capture-fixtures.sh loaded the
// table below with ipvsadm) decode to exactly that table; cut or corrupted replies are rejected.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTestAddon } from '../../support/native-test-addon.js';
import { decodeDump } from '../../../src/native/records.js';
import { UNREAD_STATS } from '../../../src/vocabulary/ipvs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = JSON.parse(readFileSync(path.join(here, '..', '..', 'fixtures', 'native', 'ipvs-replies.json'), 'utf8')) as {
  services: string[];
  reals: string[][];
};
const native = loadTestAddon();
const services = Buffer.concat(fx.services.map((h) => Buffer.from(h, 'hex')));
const reals = fx.reals.map((grams) => Buffer.concat(grams.map((h) => Buffer.from(h, 'hex'))));

/** The rules of capture-fixtures.sh, as `service: reals` lines in the kernel's dump order. */
test('captured kernel replies decode to the table ipvsadm loaded', () => {
  const entries = decodeDump(native.decodeDump(services, reals));
  const lines = entries.map((e) => {
    const s = e.service;
    const id = s.fwmark !== undefined ? `FWM ${s.fwmark} ${s.family}` : `${s.protocol} ${s.address}:${s.port}`;
    const rs = e.reals.map(
      (r) =>
        `${r.address}:${r.port} ${r.forward} w${r.weight} x${r.upperThreshold} y${r.lowerThreshold}${r.tunnelType !== undefined ? ` tun${r.tunnelType}:${r.tunnelPort}:${r.tunnelFlags}` : ''}`,
    );
    return `${id} ${s.scheduler} f${s.flags & ~2} p${s.timeout} m${s.netmask}${s.peName ? ` pe ${s.peName}` : ''} | ${rs.sort().join(', ')}`;
  });
  assert.deepEqual(lines.sort(), [
    'FWM 77 inet rr f0 p0 m32 | 10.244.1.77:0 route w1 x0 y0',
    'FWM 78 inet6 mh f16 p0 m128 | ',
    'TCP 10.96.0.10:80 rr f0 p0 m32 | 10.244.0.2:9376 masq w1 x0 y0, 10.244.0.6:9376 masq w5 x100 y10',
    'TCP 10.96.0.30:443 sh f25 p600 m24 | 10.244.2.30:443 route w1 x0 y0, 10.244.2.31:443 tunnel w2 x0 y0 tun1:6080:0',
    'TCP fd00:10:96::110:80 rr f1 p300 m128 | fd00:10:244:1::31:8080 masq w3 x0 y0',
    'UDP 10.96.0.33:53 wlc f4 p0 m32 | ',
  ]);
  for (const e of entries) {
    assert.equal(typeof e.service.stats.conns, 'bigint');
    assert.equal(e.service.flags & 2, 2, 'the kernel reports HASHED');
  }
});

test('a decode without counters gives the same entries with the shared zeroed stats, and checks the same bounds', () => {
  const record = native.decodeDump(services, reals);
  const strip = (entries: ReturnType<typeof decodeDump>): unknown =>
    entries.map((e) => ({ service: { ...e.service, stats: undefined }, reals: e.reals.map((r) => ({ ...r, stats: undefined })) }));
  const plain = decodeDump(record, false);
  assert.deepEqual(strip(plain), strip(decodeDump(record)));
  for (const e of plain) {
    assert.equal(e.service.stats, UNREAD_STATS);
    for (const r of e.reals) assert.equal(r.stats, UNREAD_STATS);
  }
  assert.throws(() => decodeDump(record.subarray(0, record.length - 1), false), RangeError);
});

test('every truncation of a captured reply is rejected or yields fewer entries, never garbage', () => {
  const whole = decodeDump(native.decodeDump(services, reals)).length;
  let rejected = 0;
  for (let n = 1; n < services.length; n++) {
    const cut = services.subarray(0, n);
    try {
      const out = decodeDump(native.decodeDump(cut, reals.slice(0, 0)));
      assert.ok(out.length < whole);
    } catch (e) {
      assert.ok(e instanceof Error);
      rejected++;
    }
  }
  assert.ok(rejected > services.length / 2);
});

test('corrupted real-server replies are rejected as malformed', () => {
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  let rejected = 0;
  for (let i = 0; i < 2000; i++) {
    const bad = reals.map((b) => Buffer.from(b));
    const target = bad[rand() % bad.length];
    for (let k = 0; k < 3; k++) target[rand() % target.length] = rand() & 255;
    try {
      decodeDump(native.decodeDump(services, bad));
    } catch (e) {
      assert.match(String(e), /malformed|RangeError|TypeError/);
      rejected++;
    }
  }
  assert.ok(rejected > 100);
});

test('64-bit counters decode exactly: zero, small, past 32 bits, and the largest', () => {
  const values = [0n, 5n, 2n ** 32n + 7n, 2n ** 53n + 1n, 2n ** 64n - 1n, 0xffffffffn, 2n ** 32n, 1n, 0n, 42n];
  const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  // The key (af, protocol, port, fwmark, address), then the settings (scheduler, flags, timeout,
  // netmask, persistence engine), as records.ts lays out every record.
  const key = Buffer.alloc(1 + 1 + 2);
  key.writeUInt8(2, 0); // AF_INET
  key.writeUInt8(6, 1); // TCP
  key.writeUInt16LE(80, 2);
  const stats = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => stats.writeBigUInt64LE(v, 8 * i));
  const record = Buffer.concat([u32(1), key, u32(0), str('10.96.0.10'), str('rr'), u32(0), u32(0), u32(32), str(''), stats, u32(0)]);
  const [entry] = decodeDump(record);
  const s = entry.service.stats;
  assert.deepEqual([s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes, s.cps, s.inpps, s.outpps, s.inbps, s.outbps], values);
  assert.deepEqual(entry.reals, []);
});
