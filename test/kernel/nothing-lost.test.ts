// Nothing lost (issue 20) on a real IPVS kernel, with `run --once` and `cleanup` as an operator
// runs them: a start whose manifests path is wrong keeps every virtual server and the traffic to
// it; a state dir that is a file means nothing is programmed; cleanup without a record removes
// nothing. The kernel (ipvsadm -Sn, kube-ipvs0, ipvs-proxy's chains and sets) is compared before
// and after each fault.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { endpointSlice, ManifestCluster, service } from './helpers/cluster.js';
import { ipvsRules, linkExists, ownedNetfilter, Topology, vipAddresses, type Pod } from './helpers/topology.js';

let topo: Topology;
let pods: Pod[];

before(async () => {
  topo = await Topology.create({ pods: [{ name: 'web-a' }, { name: 'web-b' }] });
  pods = topo.pods;
});
after(async () => {
  await topo?.destroy();
});

/** Start-up under emulation on a loaded machine: module loading alone can take minutes. */
const START_MS = 400_000;

async function kernel(): Promise<string> {
  return JSON.stringify({ rules: await ipvsRules(topo.node), addresses: await vipAddresses(topo.node), netfilter: await ownedNetfilter(topo.node) });
}

function onceArgs(manifests: string, stateDir: string): string[] {
  return ['run', '--once', '--manifests', manifests, '--node-name', topo.nodeName, '--state-dir', stateDir, '--log-format', 'text'];
}

async function allAnswer(ip: string): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const r = await topo.curlFrom(topo.client, `http://${ip}/`);
    assert.equal(r.status, 200, `request ${i + 1} to ${ip} failed: ${r.body}`);
  }
}

test(
  "a --once start with a typo'd manifests path keeps the kernel and its traffic, exits non-zero naming the path; cleanup without a record removes nothing",
  { timeout: 900_000 },
  async () => {
    await topo.resetNode();
    const ip = topo.serviceIp(30);
    const cluster = new ManifestCluster(mkdtempSync(join(topo.work, 'manifests-')));
    await cluster.set([service('web', ip), endpointSlice('web', pods)]);
    const dir = cluster.sourceArgs[1];
    const state = topo.stateDir('nothing-lost');
    const good = await topo.cli(onceArgs(dir, state), START_MS);
    assert.equal(good.code, 0, `${good.stdout}${good.stderr}`);
    await allAnswer(ip);
    const before = await kernel();
    assert.match(before, new RegExp(ip.replace(/\./g, '\\.')));

    const typo = await topo.cli(onceArgs(`${dir}-typo`, state), START_MS);
    assert.notEqual(typo.code, 0, 'a start that reads nothing must not exit 0');
    assert.match(typo.stderr + typo.stdout, /the source yields nothing \(manifests: cannot read .*-typo: ENOENT.*the kernel is left as it is/);
    assert.equal(await kernel(), before, 'the kernel is as the good run left it');
    await allAnswer(ip);

    // cleanup pointed at a state dir without a record (the default path while the agent used another).
    const other = await topo.cli(['cleanup', '--state-dir', topo.stateDir('elsewhere'), '--node-name', topo.nodeName], START_MS);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, /cleanup: no state record in .*elsewhere; removed nothing/);
    assert.equal(await kernel(), before, 'cleanup without a record removed nothing');
    await allAnswer(ip);

    const right = await topo.cli(['cleanup', '--state-dir', state, '--node-name', topo.nodeName], START_MS);
    assert.equal(right.code, 0, right.stderr);
    assert.deepEqual(await ipvsRules(topo.node), []);
    assert.equal(await linkExists(topo.node, 'kube-ipvs0'), false);
    await topo.resetNode();
  },
);

test(
  'a state dir that is a file: nothing programmed, the error says "not a directory"; a later good run and cleanup leave no orphans',
  { timeout: 900_000 },
  async () => {
    await topo.resetNode();
    const ip = topo.serviceIp(31);
    const cluster = new ManifestCluster(mkdtempSync(join(topo.work, 'manifests-')));
    await cluster.set([service('web', ip), endpointSlice('web', pods)]);
    const dir = cluster.sourceArgs[1];
    const file = join(topo.work, 'state-is-a-file');
    writeFileSync(file, '');
    const before = await kernel();
    const bad = await topo.cli(onceArgs(dir, file), START_MS);
    assert.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
    assert.match(bad.stderr + bad.stdout, /nothing written to the kernel, the claim failed: .*state-is-a-file: not a directory/);
    assert.equal(await kernel(), before, 'no virtual server, no address');
    assert.equal(await linkExists(topo.node, 'kube-ipvs0'), false);

    const state = topo.stateDir('claim-good');
    const good = await topo.cli(onceArgs(dir, state), START_MS);
    assert.equal(good.code, 0, `${good.stdout}${good.stderr}`);
    await allAnswer(ip);
    const clean = await topo.cli(['cleanup', '--state-dir', state, '--node-name', topo.nodeName], START_MS);
    assert.equal(clean.code, 0, clean.stderr);
    assert.deepEqual(await ipvsRules(topo.node), [], 'no orphan virtual server');
    assert.deepEqual(await vipAddresses(topo.node), [], 'no orphan address');
    assert.deepEqual(await ownedNetfilter(topo.node), JSON.parse(before).netfilter, 'no orphan chain or set');
    await topo.resetNode();
  },
);
