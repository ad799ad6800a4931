// The nfnetlink (ipset) half of the addon against the real kernel, checked with `ipset save` in
// the same namespace: every entry the agent writes must read back exactly as it was written, and
// the addon's own read must equal what `ipset save` prints, since the iptables manager diffs
// either against its own entry texts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openIpsetClient, type IpsetClient } from '../../src/iptables/ipset-client.js';
import type { SetEntryGroup } from '../../src/iptables/ipsets.js';
import { parseIpsetSave } from '../../src/iptables/save.js';
import { withNetns, type Netns } from './helpers/netns.js';

async function withSets<T>(fn: (ns: Netns, sets: IpsetClient) => Promise<T>): Promise<T> {
  return withNetns(async (ns) => {
    const sets = await openIpsetClient({ netns: ns.path });
    try {
      return await fn(ns, sets);
    } finally {
      sets.close();
    }
  }, 'ipset');
}

/** Our sets as `ipset save` prints them: name -> sorted entries. */
async function saved(ns: Netns): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, s] of parseIpsetSave(await ns.run('ipset', ['save']))) out[name] = [...s.entries].sort();
  return out;
}

/** The addon's read, in the same shape; it must agree with `ipset save`. */
async function listed(sets: IpsetClient): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, s] of await sets.save()) out[name] = [...s.entries].sort();
  return out;
}

const SETS: { name: string; type: string; family: 'inet' | 'inet6'; entries: string[] }[] = [
  { name: 'IPVS-PROXY-VIP', type: 'hash:ip', family: 'inet', entries: ['10.0.1.175', '10.96.0.10'] },
  { name: 'IPVS-PROXY-CLUSTER-IP', type: 'hash:ip,port', family: 'inet', entries: ['10.0.1.175,tcp:80', '10.96.0.10,udp:53', '10.96.0.11,sctp:9999'] },
  { name: 'IPVS-PROXY-LOOP-BACK', type: 'hash:ip,port,ip', family: 'inet', entries: ['10.244.1.5,tcp:9376,10.244.1.5'] },
  {
    name: 'IPVS-PROXY-LB-SOURCE-CIDR',
    type: 'hash:ip,port,net',
    family: 'inet',
    entries: ['203.0.113.7,tcp:443,198.51.100.0/24', '203.0.113.7,tcp:443,192.0.2.9'],
  },
  { name: 'IPVS-PROXY-CLUSTER-CIDR', type: 'hash:net', family: 'inet', entries: ['10.244.0.0/16', '192.0.2.1'] },
  { name: 'IPVS-PROXY6-VIP', type: 'hash:ip', family: 'inet6', entries: ['fd00::a'] },
  { name: 'IPVS-PROXY6-CLUSTER-IP', type: 'hash:ip,port', family: 'inet6', entries: ['fd00::a,tcp:80', '2001:db8::1,udp:53'] },
  { name: 'IPVS-PROXY6-LOOP-BACK', type: 'hash:ip,port,ip', family: 'inet6', entries: ['fd00:10:244::5,tcp:8080,fd00:10:244::5'] },
  { name: 'IPVS-PROXY6-LB-SOURCE-CIDR', type: 'hash:ip,port,net', family: 'inet6', entries: ['2001:db8::7,tcp:443,2001:db8:1::/48'] },
  { name: 'IPVS-PROXY6-CLUSTER-CIDR', type: 'hash:net', family: 'inet6', entries: ['fd00:10:244::/56'] },
];

async function createSets(ns: Netns): Promise<void> {
  const lines = SETS.map((s) => `create ${s.name} ${s.type} family ${s.family} hashsize 1024 maxelem 1048576`);
  await ns.run('ipset', ['restore'], { input: lines.join('\n') + '\n' });
}

const groupsOf = (op: 'add' | 'delete'): SetEntryGroup[] =>
  SETS.map((s) => ({ op, set: s.name, family: s.family, type: s.type as SetEntryGroup['type'], entries: s.entries }));

test('every set type and family: entries written over netlink read back from ipset save exactly as written', async () => {
  await withSets(async (ns, sets) => {
    await createSets(ns);
    const r = await sets.apply(groupsOf('add'));
    assert.deepEqual(r.failures, []);
    assert.equal(r.writes, SETS.length, 'one request per set');
    assert.deepEqual(await saved(ns), Object.fromEntries(SETS.map((s) => [s.name, [...s.entries].sort()])));
    assert.deepEqual(await listed(sets), await saved(ns));
    const types = await sets.save();
    for (const s of SETS) assert.deepEqual([types.get(s.name)?.type, types.get(s.name)?.family], [s.type, s.family], s.name);
    // -exist: adding what is there and deleting what is gone are no errors.
    assert.deepEqual((await sets.apply(groupsOf('add'))).failures, []);
    assert.deepEqual((await sets.apply(groupsOf('delete'))).failures, []);
    assert.deepEqual(await saved(ns), Object.fromEntries(SETS.map((s) => [s.name, []])));
    assert.deepEqual((await sets.apply(groupsOf('delete'))).failures, []);
  });
});

test('thousands of entries go 256 to a request and all land', async () => {
  await withSets(async (ns, sets) => {
    await createSets(ns);
    const entries = Array.from({ length: 3000 }, (_, i) => `10.96.${i >> 8}.${i & 255},tcp:${30000 + (i % 2768)}`);
    const r = await sets.apply([{ op: 'add', set: 'IPVS-PROXY-CLUSTER-IP', family: 'inet', type: 'hash:ip,port', entries }]);
    assert.deepEqual(r.failures, []);
    assert.equal(r.writes, Math.ceil(3000 / 256));
    assert.deepEqual((await saved(ns))['IPVS-PROXY-CLUSTER-IP'], [...entries].sort());
    // 3,000 entries span several dump messages: the read still gets every one.
    assert.deepEqual((await listed(sets))['IPVS-PROXY-CLUSTER-IP'], [...entries].sort());
    const half = entries.filter((_, i) => i % 2 === 0);
    assert.deepEqual((await sets.apply([{ op: 'delete', set: 'IPVS-PROXY-CLUSTER-IP', family: 'inet', type: 'hash:ip,port', entries: half }])).failures, []);
    assert.deepEqual((await saved(ns))['IPVS-PROXY-CLUSTER-IP'], entries.filter((_, i) => i % 2 === 1).sort());
  });
});

test('a refused or unparsable entry fails alone, named, and the rest of its request still lands', async () => {
  await withSets(async (ns, sets) => {
    await createSets(ns);
    await ns.run('ipset', ['create', 'IPVS-PROXY-SMALL', 'hash:ip', 'family', 'inet', 'maxelem', '2']);
    const r = await sets.apply([
      { op: 'add', set: 'IPVS-PROXY-VIP', family: 'inet', type: 'hash:ip', entries: ['10.0.0.1', 'not-an-ip', '10.0.0.2'] },
      { op: 'add', set: 'IPVS-PROXY-NO-SUCH-SET', family: 'inet', type: 'hash:ip', entries: ['10.0.0.3'] },
      // The third entry finds the set full: the kernel stops the request there without saying
      // which entry it was, so its entries go again one by one.
      { op: 'add', set: 'IPVS-PROXY-SMALL', family: 'inet', type: 'hash:ip', entries: ['10.1.0.1', '10.1.0.2', '10.1.0.3'] },
      { op: 'add', set: 'IPVS-PROXY-CLUSTER-IP', family: 'inet', type: 'hash:ip,port', entries: ['10.0.0.4,tcp:80', '10.0.0.5,icmp:0'] },
      // An IPv4 entry for an IPv6 set: the kernel says so.
      { op: 'add', set: 'IPVS-PROXY6-VIP', family: 'inet', type: 'hash:ip', entries: ['10.0.0.6'] },
    ]);
    const byEntry = Object.fromEntries(r.failures.map((f) => [`${f.set} ${f.entry}`, `${f.code}: ${f.message}`]));
    assert.match(byEntry['IPVS-PROXY-VIP not-an-ip'], /^EINVAL: 'not-an-ip' is not an IPv4 address/);
    assert.match(byEntry['IPVS-PROXY-NO-SUCH-SET 10.0.0.3'], /^ENOENT: the set does not exist/);
    assert.match(byEntry['IPVS-PROXY-CLUSTER-IP 10.0.0.5,icmp:0'], /^EINVAL: protocol 'icmp' is not tcp, udp or sctp/);
    assert.match(byEntry['IPVS-PROXY-SMALL 10.1.0.3'], /the set is full/);
    assert.ok(byEntry['IPVS-PROXY6-VIP 10.0.0.6'], 'family mismatch refused');
    assert.equal(r.failures.length, 5, JSON.stringify(r.failures));
    const now = await saved(ns);
    assert.deepEqual(now['IPVS-PROXY-VIP'], ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(now['IPVS-PROXY-SMALL'], ['10.1.0.1', '10.1.0.2']);
    assert.deepEqual(now['IPVS-PROXY-CLUSTER-IP'], ['10.0.0.4,tcp:80']);
    assert.deepEqual(now['IPVS-PROXY6-VIP'], []);
    // Sets that are not ours are neither read nor touched.
    await ns.run('ipset', ['create', 'KUBE-CLUSTER-IP', 'hash:ip,port']);
    await ns.run('ipset', ['add', 'KUBE-CLUSTER-IP', '10.96.0.1,tcp:443']);
    const ours = await listed(sets);
    assert.equal(ours['KUBE-CLUSTER-IP'], undefined);
    assert.deepEqual(ours, await saved(ns));
  });
});
