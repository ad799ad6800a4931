import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIpvs } from '../../support/fake-ipvs.js';
import { FakeLinks } from '../../support/fake-links.js';
import { HandleClosedError, StateUnknownError } from '../../../src/native/errors.js';
import { SvcFlag, type RealServer, type VirtualServer } from '../../../src/vocabulary/ipvs.js';

const vs: VirtualServer = { family: 'inet', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 };
const real: RealServer = { family: 'inet', address: '10.244.1.7', port: 9376, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 };

test('FakeIpvs answers like the kernel: EEXIST, ESRCH, ENOENT, HASHED, per-op results', async () => {
  const ipvs = new FakeIpvs();
  const r = await ipvs.apply([
    { op: 'addService', service: vs },
    { op: 'addService', service: vs },
    { op: 'addReal', service: vs, real },
    { op: 'addReal', service: vs, real },
    { op: 'deleteReal', service: vs, real: { ...real, port: 1 } },
    { op: 'updateReal', service: vs, real: { ...real, port: 2 } },
    { op: 'addReal', service: { ...vs, port: 81 }, real },
    { op: 'deleteService', service: { ...vs, port: 81 } },
    { op: 'addService', service: { ...vs, port: 82, scheduler: 'nope' } },
  ]);
  assert.deepEqual(
    r.map((x) => (x.ok ? 'ok' : x.code)),
    ['ok', 'EEXIST', 'ok', 'EEXIST', 'ENOENT', 'ENOENT', 'ESRCH', 'ESRCH', 'ENOENT'],
  );
  assert.equal(ipvs.writes, 9);
  const d = await ipvs.dump();
  assert.equal(d.length, 1);
  assert.equal(d[0].service.flags & SvcFlag.HASHED, SvcFlag.HASHED);
  assert.equal(d[0].reals.length, 1);
  assert.equal(d[0].reals[0].activeConns, 0);
});

test('FakeIpvs canonicalises IPv6 addresses and rejects a family mismatch', async () => {
  const ipvs = new FakeIpvs();
  const v6: VirtualServer = { ...vs, family: 'inet6', address: 'fd00:0:0::0a', netmask: 128 };
  const r = await ipvs.apply([
    { op: 'addService', service: v6 },
    { op: 'addService', service: { ...vs, address: 'fd00::1' } },
  ]);
  assert.deepEqual(
    r.map((x) => x.ok),
    [true, false],
  );
  assert.equal((await ipvs.dump())[0].service.address, 'fd00::a');
});

test('FakeIpvs fault injection and setTimeouts with 0 keeping a value', async () => {
  const ipvs = new FakeIpvs();
  ipvs.injectFault({ match: (op) => op.op === 'addService', code: 'ENOBUFS' });
  const [a, b] = await ipvs.apply([
    { op: 'addService', service: vs },
    { op: 'addService', service: vs },
  ]);
  assert.equal(a.ok, false);
  assert.equal(b.ok, true);
  await ipvs.setTimeouts({ tcp: 0, tcpFin: 5, udp: 0 });
  assert.deepEqual(await ipvs.getTimeouts(), { tcp: 900, tcpFin: 5, udp: 300 });
  // The fakes fail with the addon's typed classes, so code that classifies failures sees the same.
  ipvs.injectDumpFault('ENOBUFS');
  await assert.rejects(ipvs.dump(), (e) => e instanceof StateUnknownError && e.code === 'ENOBUFS' && e.op === 'dump');
  ipvs.close();
  await assert.rejects(ipvs.dump(), (e) => e instanceof HandleClosedError && e.code === 'EBADF');
  const links = new FakeLinks();
  links.close();
  await assert.rejects(links.listAddresses(), (e) => e instanceof HandleClosedError);
});

test('FakeLinks: dummy link, EEXIST and EADDRNOTAVAIL, ENODEV', async () => {
  const links = new FakeLinks();
  const { ifindex, created } = await links.ensureDummyLink('kube-ipvs0');
  assert.equal(created, true);
  assert.deepEqual(await links.ensureDummyLink('kube-ipvs0'), { ifindex, created: false, up: false });
  const r = await links.applyAddresses([
    { op: 'add', ifindex, family: 'inet', address: '10.96.0.10', prefixLen: 32 },
    { op: 'add', ifindex, family: 'inet', address: '10.96.0.10', prefixLen: 32 },
    { op: 'delete', ifindex, family: 'inet', address: '10.96.0.11', prefixLen: 32 },
    { op: 'add', ifindex: 99, family: 'inet', address: '10.96.0.12', prefixLen: 32 },
  ]);
  assert.deepEqual(
    r.map((x) => (x.ok ? 'ok' : x.code)),
    ['ok', 'EEXIST', 'EADDRNOTAVAIL', 'ENODEV'],
  );
  // Created down, like kube-proxy's kube-ipvs0: no IPv6 link-local address appears.
  assert.equal(links.isUp('kube-ipvs0'), false);
  assert.deepEqual(
    (await links.listAddresses(ifindex)).map((a) => a.address),
    ['10.96.0.10'],
  );
  assert.equal(await links.deleteLink('kube-ipvs0'), true);
  assert.equal(await links.linkIndex('kube-ipvs0'), undefined);
  assert.equal((await links.listAddresses()).filter((a) => a.ifname === 'kube-ipvs0').length, 0);
});
