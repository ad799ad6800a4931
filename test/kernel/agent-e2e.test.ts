// `ipvs-proxy run` end to end on a real IPVS kernel: a node namespace with three pods, a client
// pod and an uplink to the test process (see helpers/topology.ts). Services and endpoints come
// from manifest files and from the fixture API server; the kernel is read back with ipvsadm and
// ip, and real requests show which pod answered. The tests share one topology (pods are costly to
// start under emulation) and run one after another; each starts from an empty node.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FixtureApiServer } from '../fixtures/apiserver/server.js';
import { endpointSlice, FixtureCluster, ManifestCluster, service, type ClusterDriver } from './helpers/cluster.js';
import {
  HeldConnection,
  httpGet,
  httpProbe,
  ipvsRules,
  linkExists,
  metricSum,
  ownedNetfilter,
  POD_PORT,
  sleep,
  Topology,
  vipAddresses,
  waitFor,
  type AgentProcess,
  type Pod,
} from './helpers/topology.js';

let topo: Topology;
let pods: Pod[];

before(async () => {
  topo = await Topology.create({ pods: [{ name: 'web-a' }, { name: 'web-b' }, { name: 'web-c' }] });
  pods = topo.pods;
});
after(async () => {
  await topo?.destroy();
});

/** ipvsadm -Sn lines of one TCP virtual server and its masqueraded real servers. */
function vs(ip: string, port: number, reals: ReadonlyArray<Pod | [Pod, number]>): string[] {
  return [
    `-A -t ${ip}:${port} -s rr`,
    ...reals.map((r) => {
      const [pod, weight] = Array.isArray(r) ? r : [r, 1];
      return `-a -t ${ip}:${port} -r ${pod.address}:${POD_PORT} -m -w ${weight}`;
    }),
  ];
}

async function table(): Promise<{ rules: string[]; addresses: string[] }> {
  return { rules: await ipvsRules(topo.node), addresses: await vipAddresses(topo.node) };
}

/** Wait until ipvsadm -Sn and kube-ipvs0's addresses are exactly these. */
async function waitTable(what: string, rules: string[], vips: string[], timeoutMs = 60_000, agent?: AgentProcess): Promise<void> {
  const want = { rules: [...rules].sort(), addresses: vips.map((v) => `${v}/32`).sort() };
  try {
    await waitFor(what, table, (t) => JSON.stringify(t) === JSON.stringify(want), { timeoutMs });
  } catch (err) {
    if (agent) process.stderr.write(`--- agent log (${what}) ---\n${agent.tail(60)}\n---\n`);
    throw err;
  }
}

/** Start-up of the agent under emulation on a loaded machine: module loading alone can take minutes. */
const START_MS = 400_000;

function manifests(): ManifestCluster {
  return new ManifestCluster(mkdtempSync(join(topo.work, 'manifests-')));
}

function runArgs(cluster: ClusterDriver, state: string, extra: readonly string[] = []): string[] {
  return [
    'run',
    ...cluster.sourceArgs,
    '--node-name',
    topo.nodeName,
    '--state-dir',
    topo.stateDir(state),
    '--sync-period',
    '2s',
    '--min-sync-period',
    '0s',
    '--healthz-bind-address',
    '0.0.0.0:10256',
    '--metrics-bind-address',
    '0.0.0.0:10249',
    '--log-format',
    'text',
    '--log-level',
    'debug',
    ...extra,
  ];
}

async function stopAgent(agent: AgentProcess): Promise<void> {
  const exit = await agent.stop();
  if (exit.code !== 0) process.stderr.write(`--- agent log (exit ${JSON.stringify(exit)}) ---\n${agent.tail(60)}\n---\n`);
  assert.deepEqual(exit, { code: 0, signal: null }, 'the agent did not exit 0 on SIGTERM');
}

/** For finally blocks: stop without asserting, so the test's own failure is the one reported. */
async function quietStop(agent: AgentProcess | undefined): Promise<void> {
  if (agent?.running) await agent.stop();
}

/** Services and endpoints created, changed and deleted; every step read back from the kernel. */
async function createChangeDelete(cluster: ClusterDriver, state: string): Promise<void> {
  const [a, b, c] = pods;
  const ipA = topo.serviceIp(1);
  const ipB = topo.serviceIp(2);
  await cluster.set([service('alpha', ipA), endpointSlice('alpha', [a, b]), service('beta', ipB, { port: 8080 }), endpointSlice('beta', [c])]);
  const agent = topo.startAgent(runArgs(cluster, state), `crud-${state}`);
  try {
    await waitTable(`${cluster.label}: two services created`, [...vs(ipA, 80, [a, b]), ...vs(ipB, 8080, [c])], [ipA, ipB], START_MS, agent);

    // alpha gains web-c and loses web-a (drained: no connections, so deleted at the next check);
    // beta's port moves from 8080 to 8081.
    await cluster.set([service('alpha', ipA), endpointSlice('alpha', [b, c]), service('beta', ipB, { port: 8081 }), endpointSlice('beta', [c])]);
    await waitTable(`${cluster.label}: endpoints and a port changed`, [...vs(ipA, 80, [b, c]), ...vs(ipB, 8081, [c])], [ipA, ipB], 60_000, agent);

    // kubernetes#78421: a deleted service's VIP must leave kube-ipvs0 with its virtual server.
    await cluster.set([service('alpha', ipA), endpointSlice('alpha', [b, c])]);
    await waitTable(`${cluster.label}: beta deleted`, vs(ipA, 80, [b, c]), [ipA], 60_000, agent);

    await cluster.set([]);
    await waitTable(`${cluster.label}: everything deleted`, [], [], 60_000, agent);
    assert.ok(agent.running, 'the agent exited');
    await stopAgent(agent);
  } finally {
    await quietStop(agent);
    await topo.resetNode();
  }
}

test('manifests: services and endpoints created, changed and deleted (ipvsadm -Sn, kube-ipvs0)', { timeout: 900_000 }, async () => {
  await topo.resetNode();
  await createChangeDelete(manifests(), 'crud-manifests');
});

test('fixture API server: services and endpoints created, changed and deleted (ipvsadm -Sn, kube-ipvs0)', { timeout: 900_000 }, async () => {
  await topo.resetNode();
  const api = await FixtureApiServer.start();
  try {
    const kubeconfig = await topo.kubeconfigFor(api.port);
    await createChangeDelete(new FixtureCluster(api, kubeconfig), 'crud-api');
  } finally {
    await api.close();
  }
});

/** "W kernel writes" of a `run --once` summary line, after checking the counts. */
function onceWrites(stdout: string, vss: number, reals: number): number {
  const m = /^synced: (\d+) virtual servers, (\d+) real servers, (\d+) addresses, (\d+) kernel writes, [\d.]+ ms$/m.exec(stdout);
  assert.ok(m, `no summary line in: ${stdout}`);
  assert.equal(Number(m[1]), vss);
  assert.equal(Number(m[2]), reals);
  return Number(m[4]);
}

test(
  'run --once twice: the second makes 0 kernel writes; requests reach every pod in rr order, from a pod, the node and outside',
  { timeout: 900_000 },
  async () => {
    await topo.resetNode();
    const ip = topo.serviceIp(10);
    const cluster = manifests();
    await cluster.set([service('web', ip), endpointSlice('web', pods)]);
    const args = runArgs(cluster, 'once', ['--once']);
    const first = await topo.cli(args, START_MS);
    assert.equal(first.code, 0, `first run --once exited ${first.code}: ${first.stdout}${first.stderr}`);
    assert.ok(onceWrites(first.stdout, 1, 3) > 0, 'the first sync into an empty kernel wrote nothing');
    const second = await topo.cli(args, START_MS);
    assert.equal(second.code, 0, `second run --once exited ${second.code}: ${second.stderr}`);
    assert.equal(onceWrites(second.stdout, 1, 3), 0, `the second run --once wrote: ${second.stdout}\n${second.stderr}`);
    assert.deepEqual(await table(), { rules: vs(ip, 80, pods).sort(), addresses: [`${ip}/32`] });

    const names = pods.map((p) => p.name).sort();
    // From a client pod: 6 new connections, rr over 3 pods = each pod twice, in a repeating order.
    const fromPod: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await topo.curlFrom(topo.client, `http://${ip}/`);
      assert.equal(r.status, 200, `request ${i + 1} from the client pod failed: ${r.body}`);
      const { pod, saw } = Topology.answerer(r.body);
      assert.equal(saw, topo.clientAddress, 'pod-to-service traffic must keep the client address');
      fromPod.push(pod);
    }
    assert.deepEqual([...new Set(fromPod)].sort(), names, `answers: ${fromPod.join(' ')}`);
    for (let i = 3; i < 6; i++) assert.equal(fromPod[i], fromPod[i - 3], `not round robin: ${fromPod.join(' ')}`);

    // kubernetes#65158: the node itself reaches the ClusterIP (its source would be the VIP: masqueraded).
    const fromNode: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await topo.curlFrom(topo.node, `http://${ip}/`);
      assert.equal(r.status, 200, `request ${i + 1} from the node's own namespace failed: ${r.body}`);
      const { pod, saw } = Topology.answerer(r.body);
      assert.notEqual(saw, ip, 'host traffic reached the pod with the VIP as its source');
      fromNode.push(pod);
    }
    assert.deepEqual([...fromNode].sort(), names, `answers from the node: ${fromNode.join(' ')}`);

    // From outside the node (the test process, over the uplink).
    const fromOutside: string[] = [];
    for (let i = 0; i < 3; i++) fromOutside.push(Topology.answerer((await httpGet(`http://${ip}/`)).body).pod);
    assert.deepEqual([...fromOutside].sort(), names, `answers from outside: ${fromOutside.join(' ')}`);
    await topo.resetNode();
  },
);

test('restart of the running agent under traffic: no failed request, and the new agent makes 0 kernel writes', { timeout: 900_000 }, async () => {
  await topo.resetNode();
  const ip = topo.serviceIp(10);
  const cluster = manifests();
  await cluster.set([service('web', ip), endpointSlice('web', pods)]);
  const args = runArgs(cluster, 'restart');
  const first = topo.startAgent(args, 'restart-first');
  await waitTable('the first agent programmed web', vs(ip, 80, pods), [ip], START_MS, first);
  await first.waitForLog(/agent running/);

  let stop = false;
  const results: Array<{ ok: boolean; detail: string }> = [];
  const traffic = (async () => {
    while (!stop) {
      const r = await httpProbe(`http://${ip}/`, 3000);
      results.push({ ok: r.status === 200, detail: r.status === 200 ? Topology.answerer(r.body).pod : `${r.status} ${r.body}` });
      await sleep(20);
    }
  })();
  let second: AgentProcess | undefined;
  try {
    await sleep(1000);
    await stopAgent(first);
    const duringGap = results.length;
    second = topo.startAgent(args, 'restart-second');
    await second.waitForLog(/agent running/, START_MS);
    const start = await second.waitForLog(/ start: found \d+ virtual servers, \d+ real servers, \d+ addresses of ours; (\d+) kernel writes/);
    const sync = await second.waitForLog(/ sync: \d+ virtual servers, \d+ real servers, \d+ addresses, (\d+) kernel writes/);
    assert.equal(Number(start[1]), 0, `the restarted agent's start (kernel read) wrote: ${start[0]}`);
    assert.equal(Number(sync[1]), 0, `the restarted agent's first sync wrote: ${sync[0]}`);
    const metrics = await httpGet(`http://${topo.nodeAddress}:10249/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^# TYPE ipvs_proxy_kernel_writes_total counter$/m);
    assert.equal(metricSum(metrics.body, 'ipvs_proxy_kernel_writes_total'), 0, 'ipvs_proxy_kernel_writes_total of the restarted agent');
    await sleep(2000);
    stop = true;
    await traffic;
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} requests failed`);
    assert.ok(duringGap > 10 && results.length > duringGap + 10, `too few requests to mean anything: ${duringGap} then ${results.length}`);
    assert.deepEqual([...new Set(results.map((r) => r.detail))].sort(), pods.map((p) => p.name).sort());
    assert.deepEqual(await table(), { rules: vs(ip, 80, pods).sort(), addresses: [`${ip}/32`] });
    await stopAgent(second);
  } finally {
    stop = true;
    await traffic;
    await quietStop(first);
    await quietStop(second);
    await topo.resetNode();
  }
});

test(
  'foreign virtual servers (hand-made, inside --exclude-cidrs) survive syncs, verifications and cleanup; cleanup removes all of ours',
  { timeout: 900_000 },
  async () => {
    await topo.resetNode();
    const [a, b] = pods;
    const excluded = `${topo.serviceIp(192)}/26`;
    const handMade = ['-A -t 192.0.2.10:80 -s wrr', `-a -t 192.0.2.10:80 -r ${a.address}:${POD_PORT} -m -w 5`];
    const inExcluded = [`-A -t ${topo.serviceIp(200)}:80 -s rr`, `-a -t ${topo.serviceIp(200)}:80 -r ${b.address}:${POD_PORT} -m -w 1`];
    await topo.node.run('ipvsadm', ['-R'], { input: [...handMade, ...inExcluded].join('\n') + '\n' });

    const ip = topo.serviceIp(10);
    const extra = topo.serviceIp(11);
    const cluster = manifests();
    await cluster.set([service('web', ip), endpointSlice('web', pods)]);
    const scope = ['--service-cidrs', topo.serviceCidr, '--exclude-cidrs', excluded];
    const agent = topo.startAgent(runArgs(cluster, 'foreign', scope), 'foreign');
    const later = ['-A -t 192.0.2.11:443 -s sh', `-A -t ${topo.serviceIp(201)}:80 -s rr`];
    try {
      const foreign = [...handMade, ...inExcluded];
      await waitTable('web next to the foreign virtual servers', [...foreign, ...vs(ip, 80, pods)], [ip], START_MS, agent);
      await agent.waitForLog(/leaving .*192\.0\.2\.10\/80 alone: not created by ipvs-proxy/);
      await agent.waitForLog(new RegExp(`leaving .*${topo.serviceIp(200).replace(/\./g, '\\.')}/80 alone: inside --exclude-cidrs`));

      // More foreign ones while the agent runs, and a change that makes it sync.
      await topo.node.run('ipvsadm', ['-R'], { input: later.join('\n') + '\n' });
      await cluster.set([service('web', ip), endpointSlice('web', pods), service('extra', extra), endpointSlice('extra', [a])]);
      const all = [...foreign, ...later, ...vs(ip, 80, pods), ...vs(extra, 80, [a])];
      await waitTable('extra added next to the foreign virtual servers', all, [ip, extra]);
      // Two periodic verifications (full kernel reads: a background check, and the full pass the
      // new foreign virtual servers bring) after the last foreign one was added.
      const mark = agent.logs.length;
      await agent.waitForLog(/ (verify|check): [^\n]*\n[\s\S]* (verify|check): /, 30_000, mark);
      assert.deepEqual((await table()).rules, [...all].sort());
      await stopAgent(agent);
    } finally {
      await quietStop(agent);
    }

    const cleanup = await topo.cli(['cleanup', '--state-dir', topo.stateDir('foreign'), ...scope], START_MS);
    assert.equal(cleanup.code, 0, `cleanup exited ${cleanup.code}: ${cleanup.stdout}${cleanup.stderr}`);
    assert.deepEqual(await ipvsRules(topo.node), [...handMade, ...inExcluded, ...later].sort(), 'cleanup must leave exactly the foreign virtual servers');
    assert.equal(await linkExists(topo.node, 'kube-ipvs0'), false, 'cleanup left kube-ipvs0');
    assert.deepEqual(await ownedNetfilter(topo.node), { chains: [], sets: [] }, 'cleanup left iptables chains or ipsets');
    await topo.resetNode();
  },
);

test('drift repair: a real server deleted with ipvsadm comes back with --sync-period 2s', { timeout: 900_000 }, async () => {
  await topo.resetNode();
  const ip = topo.serviceIp(10);
  const cluster = manifests();
  await cluster.set([service('web', ip), endpointSlice('web', pods)]);
  const agent = topo.startAgent(runArgs(cluster, 'drift'), 'drift');
  try {
    await waitTable('web programmed', vs(ip, 80, pods), [ip], START_MS, agent);
    const mark = agent.logs.length;
    await topo.node.run('ipvsadm', ['-d', '-t', `${ip}:80`, '-r', `${pods[1].address}:${POD_PORT}`]);
    assert.deepEqual((await table()).rules, vs(ip, 80, [pods[0], pods[2]]).sort(), 'ipvsadm -d did not delete the real server');
    await waitTable('the deleted real server is back', vs(ip, 80, pods), [ip], 30_000);
    await agent.waitForLog(/ verify: \d+ virtual servers, \d+ real servers, \d+ addresses, [1-9]\d* kernel writes/, 10_000, mark);
    await stopAgent(agent);
  } finally {
    await quietStop(agent);
    await topo.resetNode();
  }
});

test(
  'graceful termination: weight 0 while a held TCP connection keeps working, new connections elsewhere, deleted after it closes',
  { timeout: 900_000 },
  async () => {
    await topo.resetNode();
    const ip = topo.serviceIp(10);
    const cluster = manifests();
    await cluster.set([service('web', ip), endpointSlice('web', pods)]);
    // A long timeout: the real server may only go because its last connection closed.
    const agent = topo.startAgent(runArgs(cluster, 'graceful', ['--graceful-termination-timeout', '180s']), 'graceful');
    let held: HeldConnection | undefined;
    try {
      await waitTable('web programmed', vs(ip, 80, pods), [ip], START_MS, agent);
      held = await HeldConnection.open(ip, 80);
      const firstAnswer = Topology.answerer(await held.get()).pod;
      const gone = pods.find((p) => p.name === firstAnswer);
      assert.ok(gone);
      const others = pods.filter((p) => p !== gone);

      await cluster.set([service('web', ip), endpointSlice('web', others)]);
      const draining = vs(
        ip,
        80,
        pods.map((p): [Pod, number] => [p, p === gone ? 0 : 1]),
      );
      await waitTable(`${gone.name} at weight 0`, draining, [ip]);
      assert.equal(Topology.answerer(await held.get()).pod, gone.name, 'the held connection moved or broke');

      const fresh: string[] = [];
      for (let i = 0; i < 4; i++) fresh.push(Topology.answerer((await httpGet(`http://${ip}/`)).body).pod);
      assert.deepEqual([...new Set(fresh)].sort(), others.map((p) => p.name).sort(), `new connections: ${fresh.join(' ')}`);

      // Several drain checks (1 s) and verifications (2 s) later it is still there: the connection holds it.
      await sleep(6000);
      assert.deepEqual((await table()).rules, [...draining].sort(), `${gone.name} left while its connection was open`);
      assert.equal(Topology.answerer(await held.get()).pod, gone.name, 'the held connection broke during the drain');

      held.reset();
      held = undefined;
      // RST: IPVS keeps the entry in CLOSE for 10 s, then the next drain check deletes the real server.
      await waitTable(`${gone.name} deleted after its connection closed`, vs(ip, 80, others), [ip], 60_000, agent);
      await stopAgent(agent);
    } finally {
      held?.reset();
      await quietStop(agent);
      await topo.resetNode();
    }
  },
);
