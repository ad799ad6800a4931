// Opening handles on this machine's own kernel. Its kernel has no IPVS (see
// docs/reference environment notes): opening must fail at once, loudly, naming ip_vs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { openIpvs } from '../../../src/ipvs/client.js';
import { openLinks } from '../../../src/netif/client.js';
import { IpvsUnavailableError, NetlinkError } from '../../../src/native/errors.js';

const hostHasIpvs = existsSync('/proc/net/ip_vs');

test('opening IPVS on a kernel without it rejects with the ip_vs error', { skip: hostHasIpvs && 'this kernel has IPVS' }, async () => {
  await assert.rejects(openIpvs(), (e: unknown) => {
    assert.ok(e instanceof IpvsUnavailableError);
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.errno, 2);
    assert.equal(e.op, 'open');
    assert.equal(e.module, 'ip_vs');
    assert.equal(e.message, 'IPVS is not available in this kernel: generic netlink family IPVS not found; load the ip_vs module (modprobe ip_vs)');
    return true;
  });
});

test('opening in a namespace path that does not exist names the path', async () => {
  await assert.rejects(openLinks({ netns: '/run/netns/does-not-exist-ipvs-proxy' }), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, 'ENOENT');
    assert.match(e.message, /\/run\/netns\/does-not-exist-ipvs-proxy/);
    return true;
  });
});

test('rtnetlink works on this kernel: loopback is listed with its addresses', async () => {
  const links = await openLinks();
  try {
    const lo = await links.linkIndex('lo');
    assert.equal(typeof lo, 'number');
    const addrs = await links.listAddresses(lo);
    assert.ok(addrs.every((a) => a.ifname === 'lo' && a.ifindex === lo));
    assert.equal(await links.linkIndex('no-such-link0'), undefined);
  } finally {
    links.close();
  }
});

test('address and route ops that do not parse fail alone with EINVAL and are never sent', async () => {
  const links = await openLinks();
  try {
    const lo = (await links.linkIndex('lo')) as number;
    const before = await links.listAddresses(lo);
    const ops = [
      { op: 'add', ifindex: lo, family: 'inet', address: '10.96.0.300', prefixLen: 32 },
      { op: 'add', ifindex: lo, family: 'inet6', address: 'fd00::1', prefixLen: 129 },
      // Latin1 text crosses as its bytes and comes back the same in the message.
      { op: 'delete', ifindex: lo, family: 'inet', address: 'caf\u00e9', prefixLen: 32 },
    ] as const;
    const expected = ["invalid IPv4 address '10.96.0.300'", 'prefix length 129 out of range for an IPv6 address', "invalid IPv4 address 'caf\u00e9'"].map(
      (message) => ({ ok: false, errno: 22, code: 'EINVAL', message }),
    );
    assert.deepEqual(await links.applyAddresses(ops), expected);
    assert.deepEqual(await links.applyRoutes(ops), expected);
    assert.deepEqual(await links.listAddresses(lo), before);
    await assert.rejects(links.applyAddresses([{ ...ops[0], address: '1'.repeat(300) }]), /address is too long/);
  } finally {
    links.close();
  }
});

test('bad arguments are TypeErrors, thrown before any kernel call', async () => {
  await assert.rejects(openIpvs({ timeoutMs: -1 }), TypeError);
  await assert.rejects(openIpvs({ dumpSockets: 0 }), TypeError);
  await assert.rejects(openIpvs({ dumpNice: 20 }), /dumpNice must be in 0\.\.19/);
  await assert.rejects(openIpvs({ dumpNice: -1 }), /dumpNice must be in 0\.\.19/);
});
