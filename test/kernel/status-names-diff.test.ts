// --names, --owned, --json and --diff on a real kernel table: the desired state programmed through
// the addon client (as the agent does), a foreign service added with ipvsadm, then drift made by
// hand with ipvsadm. The kernel keeps a Route real server's port as given (ipvsadm is what moves
// it to the service port); a Route real server added with ipvsadm checks the diff accepts both.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openIpvs } from '../../src/ipvs/client.js';
import type { IpvsClient } from '../../src/ipvs/types.js';
import type { IpvsOp } from '../../src/vocabulary/ipvs.js';
import { ownershipFromDesired, runStatus } from '../../src/status/index.js';
import { desiredState } from '../unit/status/ownership.js';
import { createNetns, type Netns } from './helpers/netns.js';

let ns: Netns;
let ipvs: IpvsClient;
const desired = desiredState();
const ownership = ownershipFromDesired(desired);

before(async () => {
  ns = await createNetns('status-names');
  await ns.run('modprobe', ['ip_vs']);
  ipvs = await openIpvs({ netns: ns.path, timeoutMs: 10_000 });
  const ops: IpvsOp[] = [];
  for (const vs of desired.virtualServers.values()) {
    ops.push({ op: 'addService', service: vs.service });
    for (const r of vs.reals) {
      const { pod: _pod, nodeName: _node, terminating: _t, ...real } = r;
      ops.push({ op: 'addReal', service: vs.service, real });
    }
  }
  const results = await ipvs.apply(ops);
  assert.deepEqual(
    results.filter((r) => !r.ok),
    [],
  );
  await ns.run('ipvsadm', ['-A', '-t', '10.200.0.1:80', '-s', 'wlc']);
  await ns.run('ipvsadm', ['-a', '-t', '10.200.0.1:80', '-r', '10.200.1.1:80', '-m']);
});

after(async () => {
  ipvs?.close();
  await ns?.destroy();
});

test('in sync: no drift', async () => {
  const listing = await ns.run('ipvsadm', ['-Ln']);
  assert.match(listing, /-> 10\.244\.1\.7:8080 +Route/, 'the kernel keeps the port the agent gave');
  const r = await runStatus({ diff: true }, { ipvs, desired, ownership });
  assert.equal(r.exitCode, 0, r.output);
  assert.equal(r.output, '? TCP  10.200.0.1:80  # foreign, not counted\nno drift\n');
  assert.equal((await runStatus({ diff: true, includeForeign: true }, { ipvs, desired, ownership })).exitCode, 1);
});

test('--owned lists exactly ipvsadm -Ln without the foreign service', async () => {
  const theirs = await ns.run('ipvsadm', ['-Ln']);
  const withoutForeign = theirs.replace(/TCP {2}10\.200\.0\.1:80 wlc\n {2}-> 10\.200\.1\.1:80 .*\n/, '');
  assert.notEqual(withoutForeign, theirs);
  assert.equal((await runStatus({ owned: true }, { ipvs, ownership })).output, withoutForeign);
  assert.equal((await runStatus({}, { ipvs })).output, theirs);
});

test('--names annotates owners, pods and nodes, and marks the foreign service', async () => {
  const out = (await runStatus({ names: true }, { ipvs, ownership })).output.split('\n');
  assert.ok(out.includes('TCP  10.96.0.1:443 rr  # default/kubernetes:https ClusterIP'), out.join('\n'));
  assert.ok(out.includes('TCP  10.200.0.1:80 wlc  # not ours'));
  assert.ok(out.includes('UDP  [fd00:10:96::a]:53 rr persistent 300  # kube-system/kube-dns:53 ClusterIP'));
  assert.ok(out.some((l) => l.startsWith('  -> 10.244.1.7:8080') && l.endsWith('# pod default/web-1 node node-b')));
  assert.ok(out.some((l) => l.startsWith('  -> [fd00:10:244::6]:53') && l.endsWith('# pod default/coredns-2 node node-a')));
});

test('--json --names carries the same facts', async () => {
  const doc = JSON.parse((await runStatus({ json: true, names: true }, { ipvs, ownership })).output) as {
    schemaVersion: number;
    virtualServers: Array<{ address: string; owned: boolean; owner: { name: string } | null; realServers: Array<{ pod: { name: string } | null }> }>;
  };
  assert.equal(doc.schemaVersion, 1);
  const foreign = doc.virtualServers.find((v) => v.address === '10.200.0.1');
  assert.equal(foreign?.owned, false);
  const api = doc.virtualServers.find((v) => v.address === '10.96.0.1');
  assert.equal(api?.owner?.name, 'kubernetes');
  assert.equal(api?.realServers[0].pod?.name, 'apiserver-a');
});

test('hand-made drift: weight, scheduler, deleted real, extra real, a Route real moved by ipvsadm', async () => {
  const script = [
    'ipvsadm -e -t 10.96.0.1:443 -r 10.0.0.5:6443 -m -w 7',
    'ipvsadm -E -t 10.96.0.1:443 -s wlc',
    'ipvsadm -a -t 10.96.0.1:443 -r 10.0.0.6:6443 -m',
    'ipvsadm -d -u [fd00:10:96::a]:53 -r [fd00:10:244::5]:53',
    // ipvsadm replaces a Route real server's port with the service's: the same real server to the diff.
    'ipvsadm -d -t 192.168.1.10:30080 -r 10.244.1.7:8080',
    'ipvsadm -a -t 192.168.1.10:30080 -r 10.244.1.7:8080 -g -w 2',
  ].join(' && ');
  await ns.run('bash', ['-c', script]);
  assert.match(await ns.run('ipvsadm', ['-Ln']), /-> 10\.244\.1\.7:30080 +Route/);
  const r = await runStatus({ diff: true }, { ipvs, desired, ownership });
  assert.equal(r.exitCode, 1);
  assert.equal(
    r.output,
    [
      '~ TCP  192.168.1.10:30080  # shop/web:http NodePort',
      '  ~ 10.244.1.7:30080  # weight 1 -> 2',
      '~ TCP  10.96.0.1:443  # default/kubernetes:https ClusterIP: scheduler rr -> wlc',
      '  + 10.0.0.6:6443  # extra',
      '  ~ 10.0.0.5:6443  # weight 1 -> 7',
      '~ UDP  [fd00:10:96::a]:53  # kube-system/kube-dns ClusterIP',
      '  - [fd00:10:244::5]:53  # missing',
      '? TCP  10.200.0.1:80  # foreign, not counted',
      'drift: the kernel differs from the desired state',
      '',
    ].join('\n'),
  );
  await ns.run('ipvsadm', ['-D', '-u', '[fd00:10:96::a]:53']);
  const gone = JSON.parse((await runStatus({ diff: true, json: true, owned: true }, { ipvs, desired, ownership })).output) as {
    missing: Array<{ address: string }>;
    foreign: unknown[];
  };
  assert.deepEqual(
    gone.missing.map((m) => m.address),
    ['fd00:10:96::a'],
  );
  assert.deepEqual(gone.foreign, []);
});
