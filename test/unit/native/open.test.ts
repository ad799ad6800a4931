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
    assert.equal(
      e.message,
      'IPVS is not available in this kernel: generic netlink family IPVS not found; load the ip_vs module (modprobe ip_vs)',
    );
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

test('bad arguments are TypeErrors, thrown before any kernel call', async () => {
  await assert.rejects(openIpvs({ timeoutMs: -1 }), TypeError);
  await assert.rejects(openIpvs({ dumpSockets: 0 }), TypeError);
  await assert.rejects(openIpvs({ dumpNice: 20 }), /dumpNice must be in 0\.\.19/);
  await assert.rejects(openIpvs({ dumpNice: -1 }), /dumpNice must be in 0\.\.19/);
});
