// VIPs made local by local routes (--vip-mode routes), by addresses (kube-proxy's way) and by
// both, against the real kernel with real traffic: a node-local client, a routed client through
// an externalIP and a NodePort, a pod client to a ClusterIP, an IPv6 VIP; ARP for a VIP from the
// neighbour on the uplink with and without strict ARP (arping); adoption of kube-proxy's
// addresses without a moment where a VIP is not local; cleanup leaving no route behind; mode
// both's background address fill never holding a sync.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openIpvs } from '../../src/ipvs/client.js';
import type { DesiredState } from '../../src/model/types.js';
import { openLinks } from '../../src/netif/client.js';
import { systemClock } from '../../src/proxier/clock.js';
import { RecordingConntrack } from '../../src/proxier/conntrack.js';
import { Proxier } from '../../src/proxier/proxier.js';
import { FileStateStore } from '../../src/proxier/state-record.js';
import type { ProxierDeps, ProxierSettings } from '../../src/proxier/types.js';
import type { VipMode } from '../../src/proxier/vips.js';
import { change, desiredVs, noChange, real, SettledSysctl, state, vs } from '../unit/proxier/helpers.js';
import { CLI, httpGet, POD_PORT, Topology } from './helpers/topology.js';

after(() => new Promise<void>((resolve) => setTimeout(resolve, 1000)));

const NODE_PORT = 30080;
const VIP6 = 'fd00:96::10';
const NODE6 = 'fd00:31::2';
/** Answers on the node itself for the IPv6 VIP (IPVS delivers to a local real server as is). */
const NODE_SERVER6 = `
require('node:http').createServer((q, s) => s.end('node6 (saw ' + q.socket.remoteAddress + ')\\n'))
  .listen(80, '::', () => console.log('listening'));
`;

let topo: Topology;

before(async () => {
  topo = await Topology.create({ pods: [{ name: 'pod-a' }, { name: 'pod-b' }] });
  await topo.node.run('ip', ['-6', 'addr', 'add', `${NODE6}/64`, 'dev', 'eth0', 'nodad']);
  await topo.startProcess(topo.node, ['-e', NODE_SERVER6], 'IPv6 node server');
});
after(async () => topo?.destroy());

function settings(mode: VipMode): ProxierSettings {
  return {
    serviceCidrs: [topo.serviceCidr, 'fd00:96::/64'],
    excludeCidrs: [],
    nodePortRange: { min: 30000, max: 32767 },
    gracefulTerminationTimeoutMs: 0,
    tcpTimeout: 0,
    tcpFinTimeout: 0,
    udpTimeout: 0,
    vipMode: mode,
  };
}

async function proxier(mode: VipMode, stateDir: string, extra: Partial<ProxierDeps> = {}): Promise<{ p: Proxier; close(): void }> {
  const ipvs = await openIpvs({ netns: topo.node.path });
  const links = await openLinks({ netns: topo.node.path });
  const readerLinks = await openLinks({ netns: topo.node.path });
  const p = new Proxier({
    ipvs,
    links,
    reader: { ipvs, links: readerLinks },
    conntrack: new RecordingConntrack(),
    sysctl: new SettledSysctl(),
    stateStore: new FileStateStore(stateDir),
    clock: systemClock,
    settings: settings(mode),
    ...extra,
  });
  return { p, close: () => (ipvs.close(), links.close(), readerLinks.close()) };
}

const pods = (): ReturnType<typeof real>[] => topo.pods.map((pod) => real(pod.address, POD_PORT, 1, pod.name));

/** ClusterIP, externalIP, NodePort on the node's address, and an IPv6 ClusterIP served by the node. */
function services(extraVips = 0): DesiredState {
  const clusterIp = topo.serviceIp(10);
  const externalIp = topo.serviceIp(20);
  const vss = [
    desiredVs(vs(clusterIp, 80), pods()),
    desiredVs(vs(externalIp, 80), pods(), { kind: 'ExternalIP' }),
    desiredVs(vs(topo.nodeAddress, NODE_PORT), pods(), { kind: 'NodePort' }),
    desiredVs(vs(VIP6, 80), [real(NODE6, 80)], { name: 'web6' }),
  ];
  const vips = [clusterIp, externalIp, VIP6];
  for (let i = 0; i < extraVips; i++) vips.push(topo.serviceIp(100 + i));
  return state(vss, vips);
}

/** VIPs bound as addresses on kube-ipvs0 (the kernel's link-local address is not one). */
async function addressesOnLink(): Promise<string[]> {
  const out = await topo.node.exec('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
  if (out.code !== 0) return [];
  return out.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/)[3].replace(/\/\d+$/, ''))
    .filter((a) => !a.startsWith('fe80:'))
    .sort();
}

/** The agent's local routes on kube-ipvs0, as `ip route` prints them (proto 201). */
async function routesOnLink(): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['-4', '-6']) {
    const r = await topo.node.exec('ip', [family, 'route', 'show', 'table', 'local', 'proto', '201']);
    for (const line of r.stdout.trim().split('\n').filter(Boolean)) {
      assert.match(line, /^local \S+ dev kube-ipvs0 /, line);
      out.push(line.split(/\s+/)[1]);
    }
  }
  return out.sort();
}

async function nodeLocal(url: string): Promise<string> {
  const r = await topo.node.exec('curl', ['-sS', '-g', '--max-time', '5', url], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, `node-local ${url}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Every path a user relies on reaches a pod (or the node for IPv6). */
async function assertServed(): Promise<void> {
  const clusterIp = topo.serviceIp(10);
  assert.match(await nodeLocal(`http://${clusterIp}/`), /^pod-[ab] /);
  assert.match(await nodeLocal(`http://[${VIP6}]/`), /^node6 /);
  const fromPod = await topo.curlFrom(topo.client, `http://${clusterIp}/`);
  assert.equal(fromPod.status, 200, fromPod.body);
  // Routed from outside the node (the root namespace routes the service range to it).
  const external = await httpGet(`http://${topo.serviceIp(20)}/`);
  assert.equal(external.status, 200);
  assert.match(external.body, /^pod-[ab] /);
  const nodePort = await httpGet(`http://${topo.nodeAddress}:${NODE_PORT}/`);
  assert.equal(nodePort.status, 200);
  assert.match(nodePort.body, /^pod-[ab] /);
  // An address of the service range that is no VIP stays unrouted on the node.
  const r = await topo.node.exec('ip', ['route', 'get', topo.serviceIp(99)]);
  assert.doesNotMatch(r.stdout, /^local /, r.stdout);
}

/** Does the node answer ARP on its uplink for this address? (arping from the neighbour.) */
async function arpAnswered(address: string): Promise<boolean> {
  const r = await new Promise<number | null>((resolve) => {
    const child = spawn('arping', ['-c', '2', '-w', '3', '-I', topo.uplink, address], { stdio: 'ignore' });
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  assert.notEqual(r, null, 'arping did not run');
  return r === 0;
}

async function strictArp(on: boolean): Promise<void> {
  await topo.node.run('sysctl', ['-qw', `net.ipv4.conf.all.arp_ignore=${on ? 1 : 0}`, `net.ipv4.conf.all.arp_announce=${on ? 2 : 0}`]);
}

for (const mode of ['routes', 'addresses'] as const) {
  test(`vip mode ${mode}: node-local, pod, externalIP, NodePort and IPv6 traffic; ARP as with addresses; cleanup leaves nothing`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vips-${mode}-`));
    const { p, close } = await proxier(mode, dir);
    try {
      const s = services();
      await p.start(s);
      const cold = await p.sync(noChange(s));
      assert.deepEqual(cold.errors, []);
      const vips = [topo.serviceIp(10), topo.serviceIp(20), VIP6].sort();
      if (mode === 'routes') {
        assert.deepEqual(await routesOnLink(), vips);
        assert.deepEqual(await addressesOnLink(), []);
        for (const v of vips) assert.equal(p.localBy(v), 'route');
        // The link came up for the IPv6 route without an IPv6 link-local address (no DAD, no RS).
        const link = await topo.node.run('ip', ['-6', 'addr', 'show', 'dev', 'kube-ipvs0']);
        assert.doesNotMatch(link, /fe80:/);
      } else {
        assert.deepEqual(await addressesOnLink(), vips);
        assert.deepEqual(await routesOnLink(), []);
        for (const v of vips) assert.equal(p.localBy(v), 'address');
      }
      await assertServed();
      // `status` as a user runs it on the node: the JSON says how each VIP is local, --names
      // names the pods from the record the pass wrote.
      const json = JSON.parse(await topo.node.run('node', [CLI, 'status', '--json', '--names', '--state-dir', dir])) as {
        virtualServers: Array<{ address: string; port: number; vipLocalBy: string | null; realServers: Array<{ pod: { name: string } | null }> }>;
      };
      const localBy = Object.fromEntries(json.virtualServers.map((v) => [`${v.address}:${v.port}`, v.vipLocalBy]));
      const how = mode === 'routes' ? 'route' : null;
      assert.deepEqual(localBy, {
        [`${topo.serviceIp(10)}:80`]: how,
        [`${topo.serviceIp(20)}:80`]: how,
        [`${VIP6}:80`]: how,
        [`${topo.nodeAddress}:${NODE_PORT}`]: null,
      });
      assert.deepEqual(
        json.virtualServers
          .find((v) => v.address === topo.serviceIp(10))
          ?.realServers.map((r) => r.pod?.name)
          .sort(),
        topo.pods.map((pod) => pod.name).sort(),
      );
      const names = await topo.node.run('node', [CLI, 'status', '--names', '--state-dir', dir]);
      assert.equal(names.includes(', VIP local by route'), mode === 'routes', names);
      assert.doesNotMatch(names, /agent record/, names);
      // A restart reads what it made and writes nothing.
      close();
      const again = await proxier(mode, dir);
      assert.equal((await again.p.start(s)).kernelWrites, 0);
      assert.equal((await again.p.sync(noChange(s))).kernelWrites, 0);
      const check = await again.p.check();
      assert.equal(check.drift, undefined);

      await strictArp(false);
      assert.equal(await arpAnswered(topo.serviceIp(10)), true, 'without strict ARP the node answers for a VIP');
      await strictArp(true);
      assert.equal(await arpAnswered(topo.serviceIp(10)), false, 'with strict ARP nothing answers for a VIP');
      await strictArp(false);

      const cleaned = await again.p.cleanup();
      assert.deepEqual(cleaned.errors, []);
      again.close();
      assert.deepEqual(await routesOnLink(), []);
      assert.deepEqual(await addressesOnLink(), []);
      assert.equal((await topo.node.exec('ip', ['link', 'show', 'kube-ipvs0'])).code !== 0, true, 'kube-ipvs0 is deleted');
      assert.equal((await topo.node.run('ipvsadm', ['-Sn'])).trim(), '');
    } finally {
      close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("adopting kube-proxy's addresses in mode routes: routes added before the addresses go, served throughout", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vips-adopt-'));
  const s = services();
  // kube-proxy's leftovers: its virtual servers and its addresses on kube-ipvs0, no record of ours.
  const kubeProxy = await proxier('addresses', mkdtempSync(join(tmpdir(), 'kube-proxy-')));
  await kubeProxy.p.start(s);
  await kubeProxy.p.sync(noChange(s));
  kubeProxy.close();
  assert.deepEqual(await addressesOnLink(), [topo.serviceIp(10), topo.serviceIp(20), VIP6].sort());

  // A node-local client asks the ClusterIP without pause while the agent takes over.
  let stop = false;
  let asked = 0;
  const failures: string[] = [];
  const prober = (async () => {
    while (!stop) {
      const r = await topo.node.exec('curl', ['-sS', '--max-time', '3', `http://${topo.serviceIp(10)}/`], { timeoutMs: 10_000 });
      asked++;
      if (r.code !== 0) failures.push(r.stderr.trim());
    }
  })();
  const { p, close } = await proxier('routes', dir);
  try {
    const started = await p.start(s);
    assert.deepEqual(started.foreign, []);
    const first = await p.sync(noChange(s));
    assert.deepEqual(first.errors, []);
    // Let the prober run after the switch too.
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await prober;
    assert.deepEqual(failures, []);
    assert.ok(asked >= 2, `the prober asked ${asked} times`);
    // One IPv4 address stays: the kernel flushes a link's IPv4 routes with its last IPv4 address.
    const left = await addressesOnLink();
    assert.equal(left.length, 1, `addresses left: ${left.join(' ')}`);
    assert.ok([topo.serviceIp(10), topo.serviceIp(20)].includes(left[0]));
    assert.equal(p.localBy(left[0]), 'route+address');
    assert.deepEqual(await routesOnLink(), [topo.serviceIp(10), topo.serviceIp(20), VIP6].sort());
    await assertServed();
    assert.deepEqual((await p.cleanup()).errors, []);
    assert.deepEqual(await routesOnLink(), []);
    assert.deepEqual(await addressesOnLink(), []);
  } finally {
    stop = true;
    await prober;
    close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vip mode both: routes at once, addresses filled in behind without holding a sync', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vips-both-'));
  const caughtUp: number[] = [];
  const { p, close } = await proxier('both', dir, {
    // Slow enough that the fill is still running when the next sync comes, however loaded the
    // machine: one address a second, about 43 s for the whole table.
    vipFill: { batch: 1, pauseMs: 1000 },
    onVipAddressesCaughtUp: (r) => caughtUp.push(r.added),
  });
  try {
    const s1 = services(40);
    await p.start(s1);
    const cold = await p.sync(noChange(s1));
    assert.deepEqual(cold.errors, []);
    const vips = s1.addresses.size;
    assert.equal((await routesOnLink()).length, vips);
    const early = (await addressesOnLink()).length;
    assert.ok(early < vips, `the fill had not caught up at the end of the cold sync (${early} addresses)`);
    await assertServed();

    // A new Service while the fill runs: its sync completes and serves before the fill is done.
    const newVip = topo.serviceIp(250);
    const s2 = state([...s1.virtualServers.values(), desiredVs(vs(newVip, 80), pods(), { name: 'late' })], [...s1.addresses.keys(), newVip]);
    const next = await p.sync(change(s1, s2));
    assert.deepEqual(next.errors, []);
    assert.equal(caughtUp.length, 0, 'the sync completed before the fill caught up');
    assert.ok((await addressesOnLink()).length < vips + 1, 'addresses were still being filled in');
    assert.match(await nodeLocal(`http://${newVip}/`), /^pod-[ab] /);

    await p.vipFillSettled();
    assert.equal(caughtUp.length, 1);
    const all = [...s2.addresses.keys()].sort();
    assert.deepEqual(await addressesOnLink(), all);
    assert.deepEqual(await routesOnLink(), all);
    assert.equal(p.localBy(newVip), 'route+address');
    assert.equal((await p.check()).drift, undefined);

    assert.deepEqual((await p.cleanup()).errors, []);
    assert.deepEqual(await routesOnLink(), []);
    assert.deepEqual(await addressesOnLink(), []);
  } finally {
    close();
    rmSync(dir, { recursive: true, force: true });
  }
});
