// Wire format without a kernel: op records -> netlink requests -> op records round trips,
// the exact bytes where the kernel is picky, and truncated or corrupted input rejected cleanly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTestAddon } from '../../support/native-test-addon.js';
import { encodeOps } from '../../../src/native/records.js';
import { decodeOps } from '../../support/op-records.js';
import type { IpvsOp, RealServer, VirtualServer } from '../../../src/vocabulary/ipvs.js';

const native = loadTestAddon();

const SERVICES: VirtualServer[] = [
  { family: 'inet', protocol: 'TCP', address: '10.0.1.175', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
  { family: 'inet', protocol: 'UDP', address: '10.96.0.10', port: 53, scheduler: 'wlc', flags: 0x5, timeout: 10800, netmask: 24 },
  { family: 'inet', protocol: 'SCTP', address: '192.168.1.1', port: 9999, scheduler: 'sh', flags: 0x18, timeout: 0, netmask: 0 },
  { family: 'inet6', protocol: 'TCP', address: 'fd00:10:96::1', port: 443, scheduler: 'mh', flags: 0x11, timeout: 600, netmask: 64, peName: 'sip' },
  { family: 'inet', fwmark: 77, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
  { family: 'inet6', fwmark: 0xffffffff, scheduler: 'lc', flags: 1, timeout: 1, netmask: 128 },
];

const TCP: VirtualServer & { protocol: 'TCP' } = {
  family: 'inet',
  protocol: 'TCP',
  address: '10.0.1.175',
  port: 80,
  scheduler: 'rr',
  flags: 0,
  timeout: 0,
  netmask: 32,
};

const REALS: RealServer[] = [
  { family: 'inet', address: '10.244.1.7', port: 9376, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
  { family: 'inet', address: '10.244.2.3', port: 0, forward: 'route', weight: 0, upperThreshold: 100, lowerThreshold: 10 },
  { family: 'inet', address: '127.0.0.1', port: 65535, forward: 'local', weight: 2147483647, upperThreshold: 4294967295, lowerThreshold: 0 },
  {
    family: 'inet6',
    address: 'fd00:10:244::5',
    port: 8080,
    forward: 'tunnel',
    weight: 3,
    upperThreshold: 0,
    lowerThreshold: 0,
    tunnelType: 1,
    tunnelPort: 6080,
    tunnelFlags: 2,
  },
];

function allOps(): IpvsOp[] {
  const ops: IpvsOp[] = [];
  for (const s of SERVICES) {
    ops.push({ op: 'addService', service: s }, { op: 'updateService', service: s });
    const key = s.fwmark !== undefined ? { family: s.family, fwmark: s.fwmark } : { family: s.family, protocol: s.protocol, address: s.address, port: s.port };
    ops.push({ op: 'deleteService', service: key });
    for (const r of REALS) {
      ops.push({ op: 'addReal', service: key, real: r }, { op: 'updateReal', service: key, real: r });
      ops.push({ op: 'deleteReal', service: key, real: { family: r.family, address: r.address, port: r.port } });
    }
  }
  return ops;
}

test('every kind of operation survives records -> netlink -> records unchanged', () => {
  const ops = allOps();
  const wire = native.encodeOps(encodeOps(ops));
  assert.deepEqual(decodeOps(native.decodeOps(wire)), ops);
});

test('addresses are written in binary and read back canonical', () => {
  const svc = {
    family: 'inet6',
    protocol: 'TCP',
    address: 'FD00:0010:0096:0000:0000:0000:0000:0001',
    port: 1,
    scheduler: 'rr',
    flags: 0,
    timeout: 0,
    netmask: 128,
  } as const;
  const [op] = decodeOps(native.decodeOps(native.encodeOps(encodeOps([{ op: 'addService', service: svc }]))));
  assert.equal(op.service.address, 'fd00:10:96::1');
});

/** The payload of the first attribute of `type` under the service nest, found by walking the bytes. */
function serviceAttr(wire: Buffer, type: number): Buffer {
  let off = 16 + 4; // nlmsghdr + genlmsghdr
  const nestLen = wire.readUInt16LE(off);
  const end = off + nestLen;
  off += 4;
  while (off < end) {
    const len = wire.readUInt16LE(off);
    if ((wire.readUInt16LE(off + 2) & 0x3fff) === type) return wire.subarray(off + 4, off + len);
    off += (len + 3) & ~3;
  }
  throw new Error(`attribute ${type} not found`);
}

test('the netmask goes as a big-endian mask for IPv4 and as a prefix length for IPv6', () => {
  const v4 = native.encodeOps(encodeOps([{ op: 'addService', service: SERVICES[1] }]));
  assert.deepEqual([...serviceAttr(v4, 9)], [255, 255, 255, 0]);
  const v6 = native.encodeOps(encodeOps([{ op: 'addService', service: SERVICES[3] }]));
  assert.equal(serviceAttr(v6, 9).readUInt32LE(0), 64);
  // Port in network byte order, address zero-padded to 16 bytes, flags as {flags, mask}.
  assert.deepEqual([...serviceAttr(v4, 4)], [0, 53]);
  assert.equal(serviceAttr(v4, 3).length, 16);
  const flags = serviceAttr(v4, 7);
  assert.deepEqual([flags.readUInt32LE(0), flags.readUInt32LE(4)], [0x5, 0xffffffff]);
});

test('real servers always carry their address family', () => {
  const wire = native.encodeOps(
    encodeOps([{ op: 'deleteReal', service: { family: 'inet', fwmark: 1 }, real: { family: 'inet6', address: 'fd00::1', port: 80 } }]),
  );
  // IPVS_DEST_ATTR_ADDR_FAMILY (11) with AF_INET6 (10), inside the dest nest (type 2).
  assert.ok(wire.includes(Buffer.from([6, 0, 11, 0, 10, 0])));
});

test('every truncation of a request stream is rejected, never misread', () => {
  const wire = native.encodeOps(encodeOps(allOps().slice(0, 12)));
  let rejected = 0;
  for (let n = 1; n < wire.length; n++) {
    try {
      const back = decodeOps(native.decodeOps(wire.subarray(0, n)));
      // A cut exactly between messages is a shorter, valid stream.
      assert.ok(back.length < 12);
    } catch (e) {
      assert.match(String(e), /malformed|out of range|RangeError/);
      rejected++;
    }
  }
  assert.ok(rejected > wire.length / 2);
});

test('random corruption is rejected or decoded, without crashing', () => {
  const wire = native.encodeOps(encodeOps(allOps().slice(0, 6)));
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const m = Buffer.from(wire);
    for (let k = 0; k < 1 + (rand() % 3); k++) m[rand() % m.length] = rand() & 255;
    try {
      native.decodeOps(m);
    } catch (e) {
      assert.ok(e instanceof Error);
      rejected++;
    }
  }
  assert.ok(rejected > 0);
});

test('bad op records are a TypeError before anything is queued', () => {
  assert.throws(() => native.encodeOps(Buffer.from([1, 0, 0, 0, 9])), TypeError);
  assert.throws(() => encodeOps([{ op: 'addService', service: { ...TCP, port: 70000 } }]), /port must be an integer/);
  assert.throws(() => encodeOps([{ op: 'addService', service: { ...TCP, scheduler: 'x'.repeat(300) } }]), /too long/);
  // A character outside latin1 cannot reach the kernel intact: refused, not truncated to its low byte.
  assert.throws(() => encodeOps([{ op: 'addService', service: { ...TCP, scheduler: 'r\u0172' } }]), /outside latin1/);
  // An address that does not parse is the kernel-facing EINVAL of that op, not a framing error.
  assert.throws(() => native.encodeOps(encodeOps([{ op: 'addService', service: { ...TCP, address: '10.0.0.256' } }])), /invalid IPv4 address/);
});
