import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FakeIpvs } from '../../support/fake-ipvs.js';
import type { IpvsOp } from '../../../src/vocabulary/ipvs.js';
import { checkStatusOptions, ConnectionTableUnreadableError, listViewOf, runStatus, StatusUsageError } from '../../../src/status/run-status.js';
import { ownershipFromDesired } from '../../../src/status/ownership.js';
import { desiredState } from './ownership.js';

async function programmedFake(): Promise<FakeIpvs> {
  const ipvs = new FakeIpvs();
  const ops: IpvsOp[] = [];
  for (const vs of desiredState().virtualServers.values()) {
    ops.push({ op: 'addService', service: vs.service });
    for (const r of vs.reals) {
      ops.push({
        op: 'addReal',
        service: vs.service,
        real: { family: r.family, address: r.address, port: r.port, forward: r.forward, weight: r.weight, upperThreshold: 0, lowerThreshold: 0 },
      });
    }
  }
  ops.push({
    op: 'addService',
    service: { family: 'inet', protocol: 'TCP', address: '10.200.0.1', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
  });
  const results = await ipvs.apply(ops);
  assert.ok(
    results.every((r) => r.ok),
    JSON.stringify(results),
  );
  return ipvs;
}

test('the default view over a client: banner, title, entries (HASHED never shown)', async () => {
  const ipvs = await programmedFake();
  const { output, exitCode } = await runStatus({}, { ipvs });
  assert.equal(exitCode, 0);
  const lines = output.split('\n');
  assert.equal(lines[0], 'IP Virtual Server version 1.2.1 (size=4096)');
  assert.ok(lines.includes('TCP  10.96.0.1:443 rr'));
  assert.ok(lines.includes('TCP  10.200.0.1:80 rr'));
  assert.ok(lines.includes('UDP  [fd00:10:96::a]:53 rr persistent 300'));
});

test('--owned and --names use the record; --save and --timeout have their own text', async () => {
  const ipvs = await programmedFake();
  const ownership = ownershipFromDesired(desiredState());
  const owned = await runStatus({ owned: true, save: true }, { ipvs, ownership });
  assert.equal(owned.output.includes('10.200.0.1'), false);
  assert.ok(owned.output.startsWith('-A '));
  const named = await runStatus({ names: true }, { ipvs, ownership });
  assert.ok(named.output.includes('TCP  10.200.0.1:80 rr  # not ours'));
  const t = await runStatus({ timeout: true }, { ipvs });
  assert.equal(t.output, 'Timeout (tcp tcpfin udp): 900 120 300\n');
  const tj = JSON.parse((await runStatus({ timeout: true, json: true }, { ipvs })).output) as { kind: string; tcp: number };
  assert.deepEqual([tj.kind, tj.tcp], ['timeouts', 900]);
});

test('--diff exits 1 on drift and 0 when in sync', async () => {
  const ipvs = await programmedFake();
  const desired = desiredState();
  const ownership = ownershipFromDesired(desired);
  const clean = await runStatus({ diff: true }, { ipvs, desired, ownership });
  // The NodePort real is a Route real: the fake keeps its port, the diff accepts either.
  assert.equal(clean.exitCode, 0, clean.output);
  const withForeign = await runStatus({ diff: true, includeForeign: true }, { ipvs, desired, ownership });
  assert.equal(withForeign.exitCode, 1);
  await ipvs.apply([
    { op: 'updateService', service: { family: 'inet', protocol: 'TCP', address: '10.96.0.1', port: 443, scheduler: 'wlc', flags: 0, timeout: 0, netmask: 32 } },
  ]);
  const drift = await runStatus({ diff: true, json: true }, { ipvs, desired, ownership });
  assert.equal(drift.exitCode, 1);
  assert.equal((JSON.parse(drift.output) as { drift: boolean }).drift, true);
});

test('--connections reads the injected path', async () => {
  const ipvs = new FakeIpvs();
  const dir = await mkdtemp(path.join(tmpdir(), 'status-'));
  const file = path.join(dir, 'ip_vs_conn');
  await writeFile(
    file,
    'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\nUDP 0A000001 1F40 0A600032 1B58 0A600032 1B59 NONE            120\n',
  );
  const r = await runStatus({ connections: true }, { ipvs, connProcPath: file });
  assert.equal(r.output.split('\n')[2], 'UDP 02:00  NONE        10.0.0.1:8000      10.96.0.50:7000    10.96.0.50:7001');
  await assert.rejects(runStatus({ connections: true }, { ipvs, connProcPath: path.join(dir, 'absent') }), ConnectionTableUnreadableError);
});

test('conflicting options are rejected like ipvsadm does, and views that need input say so', () => {
  const none = {};
  assert.throws(() => checkStatusOptions({ connections: true, stats: true }, none), StatusUsageError);
  assert.throws(() => checkStatusOptions({ timeout: true, rate: true }, none), StatusUsageError);
  assert.throws(() => checkStatusOptions({ timeout: true, persistentConn: true }, none), StatusUsageError);
  assert.throws(() => checkStatusOptions({ names: true }, none), StatusUsageError);
  assert.throws(() => checkStatusOptions({ diff: true }, none), StatusUsageError);
  assert.throws(() => checkStatusOptions({ save: true, diff: true }, { desired: desiredState() }), StatusUsageError);
  assert.doesNotThrow(() => checkStatusOptions({ connections: true, persistentConn: true }, none));
  assert.equal(new StatusUsageError('x').exitCode, 2);
});

test('view precedence follows ipvsadm', () => {
  assert.equal(listViewOf({ stats: true, rate: true }), 'stats');
  assert.equal(listViewOf({ rate: true, thresholds: true }), 'rate');
  assert.equal(listViewOf({ thresholds: true, persistentConn: true }), 'thresholds');
  assert.equal(listViewOf({ persistentConn: true, tunInfo: true }), 'persistent-conn');
  assert.equal(listViewOf({}), 'list');
});

test("--json: each virtual server says how its VIP is made local (vipLocalBy), read from the agent's routes on kube-ipvs0", async () => {
  const { FakeLinks } = await import('../../support/fake-links.js');
  const { vipForms } = await import('../../../src/cli/status-command.js');
  const ipvs = await programmedFake();
  const links = new FakeLinks();
  const { ifindex } = await links.ensureDummyLink('kube-ipvs0');
  await links.bringUpQuiet('kube-ipvs0');
  // --vip-mode routes for the apiserver VIP; both for the DNS VIP (a route and an address).
  await links.applyRoutes([
    { op: 'add', ifindex, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
    { op: 'add', ifindex, family: 'inet6', address: 'fd00:10:96::a', prefixLen: 128 },
  ]);
  await links.applyAddresses([{ op: 'add', ifindex, family: 'inet6', address: 'fd00:10:96::a', prefixLen: 128 }]);
  const localBy = await vipForms(links);
  const json = (opts: Parameters<typeof runStatus>[0]) =>
    runStatus({ json: true, ...opts }, { ipvs, localBy, ownership: ownershipFromDesired(desiredState()) });
  const doc = JSON.parse((await json({})).output) as { virtualServers: Array<{ address: string | null; vipLocalBy?: string | null; owned?: boolean }> };
  const by = Object.fromEntries(doc.virtualServers.map((v) => [v.address, v.vipLocalBy]));
  assert.deepEqual(by, { '192.168.1.10': null, '10.96.0.1': 'route', '10.200.0.1': null, 'fd00:10:96::a': 'route+address' });
  assert.equal(doc.virtualServers[0].owned, undefined, 'ownership members only with --names or --owned');
  // The same with --names, next to the owner; the text view says it too.
  const named = JSON.parse((await json({ names: true })).output) as {
    virtualServers: Array<{ address: string | null; vipLocalBy: string | null; owned: boolean }>;
  };
  assert.deepEqual(
    named.virtualServers.find((v) => v.address === '10.96.0.1'),
    { ...named.virtualServers.find((v) => v.address === '10.96.0.1'), vipLocalBy: 'route', owned: true },
  );
  const text = await runStatus({ names: true }, { ipvs, localBy, ownership: ownershipFromDesired(desiredState()) });
  assert.match(text.output, /^TCP {2}10\.96\.0\.1:443 rr {2}# default\/kubernetes:https ClusterIP, VIP local by route$/m);
});
