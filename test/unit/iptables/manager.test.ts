import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandFailedError, CommandNotFoundError } from '../../../src/iptables/errors.js';
import { SetEntryError } from '../../../src/proxier/iptables-policy/errors.js';
import { FakeKernel } from '../../support/fake-iptables.js';
import { IptablesManager } from '../../../src/proxier/iptables-policy/manager.js';
import { Chain } from '../../../src/proxier/iptables-policy/rules.js';
import { setName, SetRole, type IptablesSettings } from '../../../src/proxier/iptables-policy/sets.js';
import { manyServices, real, SETTINGS, stateOf, vs } from './fixtures.js';

function manager(kernel: FakeKernel, settings: IptablesSettings = SETTINGS): IptablesManager {
  return new IptablesManager({ runner: kernel, settings, backend: 'nft' });
}

function ruleLines(kernel: FakeKernel, backend = 'nft', family: 'inet' | 'inet6' = 'inet'): string[] {
  const out: string[] = [];
  for (const [table, chains] of kernel.tablesOf(backend, family)) for (const [c, rules] of chains) for (const r of rules) out.push(`${table} ${c} ${r}`);
  return out;
}

const FOREIGN = '*nat\n:DOCKER - [0:0]\n-A DOCKER -d 10.9.0.1/32 -j RETURN\n-A PREROUTING -j DOCKER\n-A POSTROUTING -s 172.18.0.0/16 -j MASQUERADE\nCOMMIT\n';

describe('IptablesManager against the fake kernel', () => {
  it('programs sets and rules in two writes, then makes no write when nothing changed', async () => {
    const kernel = new FakeKernel();
    const m = manager(kernel);
    assert.equal(await m.sync(manyServices(3)), 2);
    assert.equal(kernel.sets.get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 3);
    assert.equal(await m.sync(manyServices(3)), 0);
    // A new manager (a restart) reads the kernel and finds nothing to do.
    const before = kernel.writes;
    assert.equal(await manager(kernel).sync(manyServices(3)), 0);
    assert.equal(kernel.writes, before);
  });

  it('keeps the rule count equal at 1 and 1,000 services; only set contents change, in one write', async () => {
    const kernel = new FakeKernel();
    const m = manager(kernel);
    await m.sync(manyServices(1));
    const atOne = ruleLines(kernel);
    assert.equal(await m.sync(manyServices(1000)), 1, 'one ipset restore');
    assert.deepEqual(ruleLines(kernel), atOne);
    assert.equal(kernel.sets.get(setName('inet', SetRole.NODE_PORT))?.entries.size, 1000);
    assert.equal(await m.sync(manyServices(1)), 1);
    assert.equal(kernel.sets.get(setName('inet', SetRole.NODE_PORT))?.entries.size, 1);
    const last = kernel.calls.at(-1);
    assert.ok(
      last?.stdin.split('\n').every((l) => l === '' || l.startsWith('del ')),
      'shrinking only deletes',
    );
  });

  it('sends only the entries that changed when an endpoint moves', async () => {
    const kernel = new FakeKernel();
    const m = manager(kernel);
    const withReal = (ip: string) => stateOf([vs({ kind: 'ClusterIP', address: '10.96.0.1', port: 80, reals: [real(ip, 8080)] })]);
    await m.sync(withReal('10.244.0.5'));
    assert.equal(await m.sync(withReal('10.244.0.6')), 1);
    assert.deepEqual(kernel.calls.at(-1)?.stdin.trim().split('\n').sort(), [
      'add IPVS-PROXY-LOOP-BACK 10.244.0.6,tcp:8080,10.244.0.6 -exist',
      'del IPVS-PROXY-LOOP-BACK 10.244.0.5,tcp:8080,10.244.0.5 -exist',
    ]);
  });

  it('an incremental sync whose changed keys contribute the same entries runs no command at all', async () => {
    const kernel = new FakeKernel();
    const m = manager(kernel, { ...SETTINGS, nodeName: 'this-node' });
    const on = (node: string, ip: string) => ({ ...real(ip, 8080), nodeName: node });
    const svc = (reals: ReturnType<typeof on>[]) => vs({ kind: 'ClusterIP', address: '10.96.0.1', port: 80, reals });
    const other = vs({ kind: 'ClusterIP', address: '10.96.0.2', port: 53, reals: [] });
    const first = stateOf([svc([on('node-a', '10.244.1.5')]), other]);
    assert.equal(await m.sync(first), 2);
    const key = [...first.virtualServers.keys()][0];
    const only = (k: string) => ({ virtualServers: new Set([k]), addresses: new Set<string>() });
    // An endpoint added on another node: no set holds it, so not even a read is needed.
    const calls = kernel.calls.length;
    assert.equal(await m.sync(stateOf([svc([on('node-a', '10.244.1.5'), on('node-b', '10.244.2.5')]), other]), only(key)), 0);
    assert.equal(kernel.calls.length, calls);
    // One on this node enters the hairpin set: that is a write.
    assert.equal(await m.sync(stateOf([svc([on('node-a', '10.244.1.5'), on('this-node', '10.244.3.5')]), other]), only(key)), 1);
    assert.ok(kernel.sets.get(setName('inet', SetRole.LOOP_BACK))?.entries.has('10.244.3.5,tcp:8080,10.244.3.5'));
    // A deleted service changes the sets even though the remaining keys are the same.
    assert.equal(await m.sync(stateOf([svc([on('node-a', '10.244.1.5'), on('this-node', '10.244.3.5')])]), only([...first.virtualServers.keys()][1])), 1);
    assert.equal(kernel.sets.get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 1);
  });

  it('leaves foreign chains and rules alone through sync and cleanup, and cleanup leaves nothing of ours', async () => {
    const kernel = new FakeKernel();
    await kernel.run('iptables-nft-restore', ['--noflush'], FOREIGN);
    await kernel.run('ipset', ['restore'], 'create KUBE-CLUSTER-IP hash:ip,port family inet\nadd KUBE-CLUSTER-IP 10.96.0.1,tcp:443\n');
    const foreign = ruleLines(kernel);
    const m = new IptablesManager({ runner: kernel, settings: { ...SETTINGS, families: ['inet', 'inet6'] }, backend: 'nft' });
    assert.equal(await m.sync(manyServices(5)), 3);
    for (const rule of foreign) assert.ok(ruleLines(kernel).includes(rule), `kept: ${rule}`);
    assert.ok(ruleLines(kernel).some((r) => r.startsWith(`nat PREROUTING `) && r.endsWith(`-j ${Chain.SERVICES}`)));

    assert.equal(await m.cleanup(), 3);
    assert.deepEqual(ruleLines(kernel), foreign);
    assert.deepEqual([...(kernel.tablesOf('nft', 'inet').get('nat')?.keys() ?? [])], ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', 'DOCKER']);
    assert.deepEqual(ruleLines(kernel, 'nft', 'inet6'), []);
    assert.deepEqual([...kernel.sets.keys()], ['KUBE-CLUSTER-IP']);
    assert.equal(await m.cleanup(), 0, 'nothing left to remove');
  });

  it('repairs drift on verification: a flushed chain, a deleted jump, a deleted entry', async () => {
    const kernel = new FakeKernel();
    const m = manager(kernel);
    const state = manyServices(2);
    await m.sync(state);
    const good = ruleLines(kernel);
    await kernel.run(
      'iptables-nft-restore',
      ['--noflush'],
      `*nat\n:${Chain.SERVICES} - [0:0]\nCOMMIT\n*filter\n-D INPUT -m comment --comment "ipvs-proxy VIP filter and source ranges" -j ${Chain.INPUT}\nCOMMIT\n`,
    );
    await kernel.run('ipset', ['restore'], `del ${setName('inet', SetRole.VIP)} 10.96.0.1\n`);
    assert.equal(await m.sync(state), 0, 'memory is trusted between verifications');
    m.requestVerification();
    assert.equal(await m.sync(state), 2);
    assert.deepEqual(ruleLines(kernel).sort(), good.sort());
    assert.ok(kernel.sets.get(setName('inet', SetRole.VIP))?.entries.has('10.96.0.1'));
  });

  it('check(): true while the kernel holds what was applied; each kind of drift makes it false; no writes', async () => {
    const drifts: [string, (k: FakeKernel) => Promise<unknown>][] = [
      ['a flushed chain', (k) => k.run('iptables-nft-restore', ['--noflush'], `*nat\n:${Chain.SERVICES} - [0:0]\nCOMMIT\n`)],
      ['a deleted set entry', (k) => k.run('ipset', ['restore'], `del ${setName('inet', SetRole.VIP)} 10.96.0.1\n`)],
      ['an added set entry', (k) => k.run('ipset', ['restore'], `add ${setName('inet', SetRole.VIP)} 10.96.9.9\n`)],
      ['a deleted set', async (k) => k.sets.delete(setName('inet', SetRole.VIP))],
    ];
    for (const [what, drift] of drifts) {
      const kernel = new FakeKernel();
      const m = manager(kernel);
      assert.equal(await m.check(), false, 'nothing applied yet: not verified');
      const state = manyServices(2);
      await m.sync(state);
      assert.equal(await m.check(), true, what);
      await drift(kernel);
      const writes = kernel.writes;
      assert.equal(await m.check(), false, what);
      assert.equal(kernel.writes - writes, 0, `${what}: check writes nothing`);
      m.requestVerification();
      assert.ok((await m.sync(state)) > 0, `${what}: the verifying sync repairs`);
      assert.equal(await m.check(), true, `${what}: repaired`);
    }
  });

  it('a verification requested while a sync runs is taken up by the next sync, not lost', async () => {
    const kernel = new FakeKernel();
    // Every command waits at a gate while it is closed: the sync below is held after it has
    // taken the applied view, as a real one is while iptables-restore runs.
    let open: () => void = () => undefined;
    let gate: Promise<void> = Promise.resolve();
    const runner = { run: async (cmd: string, args: string[], stdin?: string) => (await gate, kernel.run(cmd, args, stdin)) };
    const m = new IptablesManager({ runner, settings: SETTINGS, backend: 'nft' });
    const state = manyServices(2);
    await m.sync(state);
    await kernel.run('ipset', ['restore'], `del ${setName('inet', SetRole.VIP)} 10.96.0.1\n`);
    gate = new Promise((r) => (open = r));
    // A third service: its set entries are a write, held at the gate.
    const next = manyServices(3);
    const running = m.sync(next, { virtualServers: new Set(next.virtualServers.keys()), addresses: new Set(['10.96.0.3']) });
    await new Promise((r) => setImmediate(r));
    m.requestVerification();
    open();
    assert.ok((await running) > 0);
    assert.ok((await m.sync(next)) > 0, 'the next sync read the kernel and repaired');
    assert.ok(kernel.sets.get(setName('inet', SetRole.VIP))?.entries.has('10.96.0.1'));
  });

  it('replaces a set of ours that has the wrong type although rules reference it', async () => {
    const kernel = new FakeKernel();
    await manager(kernel).sync(manyServices(1));
    // Simulate an older layout: same name, other type, still referenced by our rules.
    const vip = kernel.sets.get(setName('inet', SetRole.VIP));
    assert.ok(vip);
    vip.type = 'hash:net';
    const writes = await manager(kernel).sync(manyServices(1));
    assert.equal(writes, 3, 'flush our chains, recreate the set, restore the rules');
    assert.equal(kernel.sets.get(setName('inet', SetRole.VIP))?.type, 'hash:ip');
    assert.equal(await manager(kernel).sync(manyServices(1)), 0);
  });

  it('changes only the rules when a setting changes', async () => {
    const kernel = new FakeKernel();
    await manager(kernel).sync(manyServices(2));
    const m = manager(kernel, { ...SETTINGS, masqueradeAll: true });
    assert.equal(await m.sync(manyServices(2)), 1);
    assert.ok(kernel.calls.at(-1)?.cmd === 'iptables-nft-restore');
    assert.ok(ruleLines(kernel).some((r) => r.includes('masquerade all ClusterIP traffic')));
  });

  it('throws a typed error on a failed write and reads the kernel again next time', async () => {
    const kernel = new FakeKernel();
    const m = manager(kernel);
    kernel.failNext = 'iptables-nft-restore';
    await assert.rejects(m.sync(manyServices(1)), (err: unknown) => {
      assert.ok(err instanceof CommandFailedError);
      assert.equal(err.command, 'iptables-nft-restore');
      assert.equal(err.code, 1);
      assert.match(err.stderr, /injected/);
      return true;
    });
    const saves = kernel.calls.filter((c) => c.cmd === 'ipset' && c.args[0] === 'save').length;
    assert.equal(await m.sync(manyServices(1)), 1, 'the sets were in place; only the rules are written');
    assert.equal(kernel.calls.filter((c) => c.cmd === 'ipset' && c.args[0] === 'save').length, saves + 1);
  });

  it('detects the backend in use and --random-fully support', async () => {
    const kernel = new FakeKernel();
    await kernel.run('iptables-legacy-restore', ['--noflush'], FOREIGN);
    const m = new IptablesManager({ runner: kernel, settings: SETTINGS });
    assert.equal(await m.backend(), 'legacy');
    await m.sync(manyServices(1));
    assert.ok(ruleLines(kernel, 'legacy').some((r) => r.endsWith('-j MASQUERADE --random-fully')));
    assert.equal(ruleLines(kernel, 'nft').length, 0);

    const fresh = new FakeKernel();
    fresh.missing.add('iptables-legacy-save').add('ip6tables-legacy-save');
    assert.equal(await new IptablesManager({ runner: fresh, settings: SETTINGS }).backend(), 'nft');
    const noRandom = new IptablesManager({ runner: fresh, settings: SETTINGS, randomFully: false });
    await noRandom.sync(manyServices(1));
    assert.equal(
      ruleLines(fresh).some((r) => r.includes('random-fully')),
      false,
    );
  });

  it('detects in one round of processes and reads the chosen backend rules once on the first sync', async () => {
    const kernel = new FakeKernel();
    await kernel.run('iptables-nft-restore', ['--noflush'], FOREIGN);
    kernel.calls.length = 0;
    const m = new IptablesManager({ runner: kernel, settings: { ...SETTINGS, families: ['inet', 'inet6'] } });
    assert.equal(await m.sync(manyServices(1)), 3, 'sets, then rules of each family');
    const line = (c: { cmd: string; args: readonly string[] }): string => [c.cmd, ...c.args].join(' ');
    // Everything the detection needs is started before any of it is awaited.
    assert.deepEqual(kernel.calls.slice(0, 5).map(line).sort(), [
      'ip6tables-legacy-save',
      'ip6tables-nft-save',
      'iptables-legacy-save',
      'iptables-nft --version',
      'iptables-nft-save',
    ]);
    const runs = (cmd: string): number => kernel.calls.filter((c) => line(c) === cmd).length;
    for (const save of ['iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save']) {
      assert.equal(runs(save), 1, `${save} once: the sync reads the rules the detection read`);
    }
    assert.equal(runs('iptables-nft --version'), 1);
    assert.ok(ruleLines(kernel).includes('nat DOCKER -d 10.9.0.1/32 -j RETURN'), 'foreign rules kept');
    assert.ok(ruleLines(kernel).some((r) => r.endsWith('-j MASQUERADE --random-fully')));
    assert.equal(
      await new IptablesManager({ runner: kernel, settings: { ...SETTINGS, families: ['inet', 'inet6'] } }).sync(manyServices(1)),
      0,
      'a restart finds it all in place',
    );
  });

  it('a node on legacy asks iptables-legacy for its version, after the detection', async () => {
    const kernel = new FakeKernel();
    await kernel.run('iptables-legacy-restore', ['--noflush'], FOREIGN);
    const m = new IptablesManager({ runner: kernel, settings: SETTINGS });
    await m.sync(manyServices(1));
    assert.equal(kernel.calls.filter((c) => c.cmd === 'iptables-legacy' && c.args[0] === '--version').length, 1);
    assert.ok(ruleLines(kernel, 'legacy').some((r) => r.endsWith('-j MASQUERADE --random-fully')));
    assert.equal(ruleLines(kernel, 'nft').length, 0);
  });

  it('prepare() ahead of the first sync: the sync reads the rules afresh, not what the detection saw', async () => {
    const kernel = new FakeKernel();
    const m = new IptablesManager({ runner: kernel, settings: SETTINGS });
    await m.prepare();
    assert.equal(kernel.calls.filter((c) => c.cmd === 'iptables-nft' && c.args[0] === '--version').length, 1);
    // Another writer programs the same rules and sets after the detection looked.
    await manager(kernel).sync(manyServices(1));
    const before = kernel.writes;
    const versions = (): number => kernel.calls.filter((c) => c.cmd === 'iptables-nft' && c.args[0] === '--version').length;
    const versionsBefore = versions();
    assert.equal(await m.sync(manyServices(1)), 0, 'what the kernel holds now, not the detection empty view');
    assert.equal(kernel.writes, before);
    assert.equal(versions(), versionsBefore, 'the version is not asked again');
  });

  it('prepare() never rejects; the sync meets the failure again and reports it', async () => {
    const kernel = new FakeKernel();
    const failing: typeof kernel = Object.create(kernel);
    let broken = true;
    failing.run = async (cmd, args, stdin) => {
      if (broken && cmd.endsWith('-save')) throw new Error('spawn failed: EAGAIN');
      return kernel.run(cmd, args, stdin);
    };
    const m = new IptablesManager({ runner: failing, settings: SETTINGS });
    await m.prepare();
    await assert.rejects(m.sync(manyServices(1)), /EAGAIN/);
    broken = false;
    assert.equal(await m.sync(manyServices(1)), 2, 'detected on the next try');
  });

  it('reports a missing ipset as CommandNotFoundError', async () => {
    const kernel = new FakeKernel();
    kernel.missing.add('ipset');
    await assert.rejects(manager(kernel).sync(manyServices(1)), CommandNotFoundError);
  });
});

describe('IptablesManager with a set entry writer (netlink)', () => {
  const withWriter = (kernel: FakeKernel): IptablesManager =>
    new IptablesManager({ runner: kernel, settings: SETTINGS, backend: 'nft', ipsetClient: kernel.ipsetClient() });

  it('creates the sets with ipset restore but sends every entry through the writer', async () => {
    const kernel = new FakeKernel();
    const m = withWriter(kernel);
    // One ipset restore (9 creates, no entries), 256 entries per request, one iptables-restore.
    const writes = await m.sync(manyServices(1000));
    const restore = kernel.calls.find((c) => c.cmd === 'ipset' && c.args[0] === 'restore');
    assert.ok(restore);
    assert.ok(
      restore.stdin
        .trim()
        .split('\n')
        .every((l) => l.startsWith('create ')),
      'no entry goes through ipset restore',
    );
    assert.equal(kernel.sets.get(setName('inet', SetRole.NODE_PORT))?.entries.size, 1000);
    assert.equal(writes, 2 + kernel.setEntryRequests);
    assert.ok(kernel.setEntryRequests >= 4, `1000 node ports alone need 4 requests, saw ${kernel.setEntryRequests}`);
    // The same kernel as the text path would leave.
    const text = new FakeKernel();
    await manager(text).sync(manyServices(1000));
    assert.deepEqual(kernel.sets, text.sets);
    assert.equal(await m.sync(manyServices(1000)), 0);
    assert.equal(kernel.calls.filter((c) => c.cmd === 'ipset' && c.args[0] === 'save').length, 0, 'sets are read through the client');
  });

  it('changes only the entries that differ, and a restart with nothing changed writes nothing', async () => {
    const kernel = new FakeKernel();
    const m = withWriter(kernel);
    await m.sync(manyServices(3));
    const before = kernel.setEntryRequests;
    const calls = kernel.calls.length;
    assert.ok((await m.sync(manyServices(2))) > 0);
    assert.equal(kernel.calls.length, calls, 'no command ran: only entry deletes');
    assert.ok(kernel.setEntryRequests > before);
    assert.equal(kernel.sets.get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 2);
    assert.equal(await withWriter(kernel).sync(manyServices(2)), 0);
  });

  it('a refused entry fails the sync with the set and entry named; the next sync reads the kernel and repairs', async () => {
    const kernel = new FakeKernel();
    const m = withWriter(kernel);
    await m.sync(manyServices(2));
    const vips = new Set(kernel.sets.get(setName('inet', SetRole.VIP))?.entries);
    assert.ok(vips.size > 0);
    // Someone destroys one of our sets behind our back (rules reference it; the fake allows it here).
    kernel.sets.delete(setName('inet', SetRole.VIP));
    m.requestVerification();
    await m.sync(manyServices(2));
    assert.deepEqual(kernel.sets.get(setName('inet', SetRole.VIP))?.entries, vips, 'recreated on verification');
    // A set missing while memory is trusted: the writer is refused, the error names it.
    kernel.sets.delete(setName('inet', SetRole.VIP));
    await assert.rejects(m.sync(manyServices(3)), (err: unknown) => {
      assert.ok(err instanceof SetEntryError);
      assert.match(err.message, /^ipset add IPVS-PROXY-VIP 10\.96\.0\.3: the set does not exist \(ENOENT\)/);
      return true;
    });
    assert.ok(kernel.sets.get(setName('inet', SetRole.CLUSTER_IP))?.entries.has('10.96.0.3,tcp:80'), 'the other sets still got their entries');
    await m.sync(manyServices(3));
    assert.ok(kernel.sets.get(setName('inet', SetRole.VIP))?.entries.has('10.96.0.3'), 'repaired');
  });
});
