// The rtnetlink half of the addon against the real kernel, checked with `ip` in the same test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openLinks } from '../../src/netif/client.js';
import type { LinkClient } from '../../src/netif/types.js';
import { withNetns, type Netns } from './helpers/netns.js';

async function withLinks<T>(fn: (ns: Netns, links: LinkClient) => Promise<T>): Promise<T> {
  return withNetns(async (ns) => {
    const links = await openLinks({ netns: ns.path });
    try {
      return await fn(ns, links);
    } finally {
      links.close();
    }
  }, 'netif');
}

function global<T extends { address: string }>(list: T[]): T[] {
  return list.filter((a) => !a.address.startsWith('fe80:'));
}

/** `ip -o addr show [dev X]` as "ifname family address/prefix" lines, sorted, without the fe80::/64 link-local address. */
async function ipAddrs(ns: Netns, dev?: string): Promise<string[]> {
  const out = await ns.run('ip', ['-o', 'addr', 'show', ...(dev ? ['dev', dev] : [])]);
  return out
    .split('\n')
    .filter((l) => l && !/ fe80:/.test(l))
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[1]} ${f[2]} ${f[3]}`;
    })
    .sort();
}

test('ensureDummyLink creates the link down like kube-proxy, leaves an existing one as it is; deleteLink removes it', async () => {
  await withLinks(async (ns, links) => {
    assert.equal(await links.linkIndex('kube-ipvs0'), undefined);
    const first = await links.ensureDummyLink('kube-ipvs0');
    assert.equal(first.created, true);
    assert.equal(first.up, false);
    const line = await ns.run('ip', ['-o', '-d', 'link', 'show', 'kube-ipvs0']);
    assert.match(line, new RegExp(`^${first.ifindex}: kube-ipvs0: <`));
    assert.doesNotMatch(line, /<[^>]*\bUP\b/);
    assert.match(line, /state DOWN/);
    assert.match(line, /\bdummy\b/);
    // Someone brought it up: that is theirs to decide, and stays so.
    await ns.run('ip', ['link', 'set', 'kube-ipvs0', 'up']);
    const again = await links.ensureDummyLink('kube-ipvs0');
    assert.deepEqual(again, { ifindex: first.ifindex, created: false, up: true });
    assert.match(await ns.run('ip', ['-o', 'link', 'show', 'kube-ipvs0']), /<[^>]*\bUP\b/);
    assert.equal(await links.linkIndex('kube-ipvs0'), first.ifindex);
    assert.equal(await links.deleteLink('kube-ipvs0'), true);
    assert.equal(await links.deleteLink('kube-ipvs0'), false);
    assert.equal(await links.linkIndex('kube-ipvs0'), undefined);
    assert.equal((await ns.exec('ip', ['link', 'show', 'kube-ipvs0'])).code !== 0, true);
  });
});

// A VIP is only useful if the node treats it as its own: on the down link the kernel must still
// route it locally, for IPv4 and for IPv6 (where a tentative address could not even be bound).
test('VIPs on the down link are local addresses: a TCP connection to each works', async () => {
  await withLinks(async (ns, links) => {
    const { ifindex } = await links.ensureDummyLink('kube-ipvs0');
    const r = await links.applyAddresses([
      { op: 'add', ifindex, family: 'inet', address: '10.96.7.1', prefixLen: 32 },
      { op: 'add', ifindex, family: 'inet6', address: 'fd00:10:96::7', prefixLen: 128 },
    ]);
    assert.deepEqual(
      r.map((x) => x.ok),
      [true, true],
    );
    assert.match(await ns.run('ip', ['route', 'get', '10.96.7.1']), /^local 10\.96\.7\.1 dev lo/);
    assert.match(await ns.run('ip', ['-6', 'route', 'get', 'fd00:10:96::7']), /^local fd00:10:96::7 /);
    const echo = `
      const net = require('node:net');
      const [host] = process.argv.slice(1);
      const srv = net.createServer((c) => c.end('hello from ' + host)).listen(8080, host, () => {
        net.connect(8080, host).on('data', (d) => { console.log(String(d)); srv.close(); process.exit(0); })
          .on('error', (e) => { console.error(e.message); process.exit(1); });
      });
      setTimeout(() => { console.error('no answer within 10 s'); process.exit(1); }, 10000);`;
    assert.equal((await ns.run('node', ['-e', echo, '10.96.7.1'])).trim(), 'hello from 10.96.7.1');
    assert.equal((await ns.run('node', ['-e', echo, 'fd00:10:96::7'])).trim(), 'hello from fd00:10:96::7');
  });
});

test('address lifecycle on the dummy link matches ip -o addr', async () => {
  await withLinks(async (ns, links) => {
    const { ifindex } = await links.ensureDummyLink('kube-ipvs0');
    const add = [
      { op: 'add', ifindex, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
      { op: 'add', ifindex, family: 'inet', address: '10.96.0.10', prefixLen: 32 },
      { op: 'add', ifindex, family: 'inet6', address: 'fd00:10:96::1', prefixLen: 128 },
      { op: 'add', ifindex, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
      { op: 'add', ifindex, family: 'inet', address: 'not-an-ip', prefixLen: 32 },
      { op: 'add', ifindex: 999_999, family: 'inet', address: '10.96.0.2', prefixLen: 32 },
    ] as const;
    const results = await links.applyAddresses(add);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.code)),
      ['ok', 'ok', 'ok', 'EEXIST', 'EINVAL', 'ENODEV'],
    );
    const ip = await ipAddrs(ns, 'kube-ipvs0');
    assert.deepEqual(ip, ['kube-ipvs0 inet 10.96.0.1/32', 'kube-ipvs0 inet 10.96.0.10/32', 'kube-ipvs0 inet6 fd00:10:96::1/128']);
    const listed = global(await links.listAddresses(ifindex));
    assert.deepEqual(listed.map((a) => `${a.ifname} ${a.family} ${a.address}/${a.prefixLen}`).sort(), ip);
    // Without an index: every address of the namespace, loopback's included, as ip shows them.
    const all = global(await links.listAddresses());
    assert.deepEqual(all.map((a) => `${a.ifname} ${a.family} ${a.address}/${a.prefixLen}`).sort(), await ipAddrs(ns));
    // IPv6 VIPs skip duplicate address detection: usable at once, never "tentative".
    const vip6 = (await ns.run('ip', ['-o', '-6', 'addr', 'show', 'dev', 'kube-ipvs0'])).split('\n').find((l) => l.includes('fd00:10:96::1/128'));
    assert.ok(vip6);
    assert.doesNotMatch(vip6, /tentative/);

    const del = await links.applyAddresses([
      { op: 'delete', ifindex, family: 'inet', address: '10.96.0.10', prefixLen: 32 },
      { op: 'delete', ifindex, family: 'inet6', address: 'fd00:10:96::1', prefixLen: 128 },
      { op: 'delete', ifindex, family: 'inet', address: '10.96.0.77', prefixLen: 32 },
    ]);
    assert.deepEqual(
      del.map((r) => (r.ok ? 'ok' : r.code)),
      ['ok', 'ok', 'EADDRNOTAVAIL'],
    );
    assert.deepEqual(await ipAddrs(ns, 'kube-ipvs0'), ['kube-ipvs0 inet 10.96.0.1/32']);
  });
});

test('a thousand VIPs go on and come off in batches', async () => {
  await withLinks(async (ns, links) => {
    const { ifindex } = await links.ensureDummyLink('kube-ipvs0');
    const vips = Array.from({ length: 1000 }, (_, i) => `10.96.${i >> 8}.${i & 255}`);
    const adds = vips.map((address) => ({ op: 'add', ifindex, family: 'inet', address, prefixLen: 32 }) as const);
    assert.equal((await links.applyAddresses(adds)).filter((r) => !r.ok).length, 0);
    assert.equal((await ipAddrs(ns, 'kube-ipvs0')).length, 1000);
    assert.equal(global(await links.listAddresses(ifindex)).length, 1000);
    const dels = adds.map((a) => ({ ...a, op: 'delete' }) as const);
    assert.equal((await links.applyAddresses(dels)).filter((r) => !r.ok).length, 0);
    assert.deepEqual(await ipAddrs(ns, 'kube-ipvs0'), []);
  });
});
