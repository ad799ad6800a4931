// One contract for the iptables side, run against the fake kernel (test/support/fake-iptables.ts) and the
// real iptables-restore/iptables-save and ipset in a fresh network namespace (root needed), on both
// backends: what the manager sees through its CommandRunner must be the same on each.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNetns, type Netns } from '../../kernel/helpers/netns.js';
import type { Backend } from '../../../src/iptables/backend.js';
import { FakeKernel } from '../../support/fake-iptables.js';
import { IptablesManager } from '../../../src/proxier/iptables-policy/manager.js';
import { ExecCommandRunner, type CommandRunner } from '../../../src/iptables/runner.js';
import { countSavedRules, parseIpsetSave, parseIptablesSave } from '../../../src/iptables/save.js';
import { setName, SetRole, type IptablesSettings } from '../../../src/proxier/iptables-policy/sets.js';
import { manyServices, SETTINGS } from './fixtures.js';

const isRoot = process.getuid?.() === 0;
const DUAL: IptablesSettings = { ...SETTINGS, families: ['inet', 'inet6'], clusterCidr: ['10.244.0.0/16'] };
const FOREIGN_NAT =
  '*nat\n:FOREIGN-CHAIN - [0:0]\n-A FOREIGN-CHAIN -d 10.9.0.1/32 -j RETURN\n-A PREROUTING -j FOREIGN-CHAIN\n' +
  '-A POSTROUTING -s 172.18.0.0/16 -j MASQUERADE\nCOMMIT\n';
const FOREIGN_LINES = ['-A FOREIGN-CHAIN -d 10.9.0.1/32 -j RETURN', '-A PREROUTING -j FOREIGN-CHAIN', '-A POSTROUTING -s 172.18.0.0/16 -j MASQUERADE'];

interface Subject {
  runner: CommandRunner;
  done(): Promise<void>;
}

type Make = () => Promise<Subject>;

const subjects: [string, Backend, Make | false][] = [];
for (const backend of ['nft', 'legacy'] as const) {
  subjects.push([`fake (${backend})`, backend, async () => ({ runner: new FakeKernel(), done: async () => {} })]);
  subjects.push([
    `real tools in a netns (${backend})`,
    backend,
    isRoot &&
      (async () => {
        const ns: Netns = await createNetns('iptc');
        return { runner: new ExecCommandRunner({ prefix: ['ip', 'netns', 'exec', ns.name], timeoutMs: 60_000 }), done: () => ns.destroy() };
      }),
  ]);
}

async function out(r: CommandRunner, cmd: string, args: readonly string[], stdin?: string): Promise<string> {
  const res = await r.run(cmd, args, stdin);
  assert.equal(res.code, 0, `${cmd} ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

for (const [label, backend, make] of subjects) {
  describe(`iptables contract: ${label}`, { skip: make === false && 'the real tools need root (a fresh network namespace)' }, () => {
    let s: Subject;
    const save = (family: 'iptables' | 'ip6tables' = 'iptables'): Promise<string> => out(s.runner, `${family}-${backend}-save`, []);
    const manager = (settings = DUAL): IptablesManager => new IptablesManager({ runner: s.runner, settings, backend });

    before(async () => {
      if (make) s = await make();
    });
    after(async () => s?.done());

    it('applies the rules for a desired state, then changes only the sets', async () => {
      const m = manager();
      assert.equal(await m.sync(manyServices(1)), 3);
      const first = await save();
      assert.equal(countSavedRules(first), 21);
      assert.ok(first.includes('-j MASQUERADE --random-fully'));
      assert.ok((await save('ip6tables')).includes('--reject-with icmp6-port-unreachable'));
      assert.equal(await m.sync(manyServices(1)), 0);
      assert.equal(await m.sync(manyServices(50)), 1, 'only the sets change');
      assert.equal(countSavedRules(await save()), 21);
      const sets = parseIpsetSave(await out(s.runner, 'ipset', ['save']));
      assert.equal(sets.get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 50);
      assert.equal(sets.get(setName('inet', SetRole.CLUSTER_IP))?.type, 'hash:ip,port');
      const saved = await out(s.runner, 'ipset', ['save']);
      assert.match(saved, new RegExp(`^create ${setName('inet', SetRole.LOOP_BACK)} hash:ip,port,ip family inet .*maxelem 1048576 `, 'm'), 'the size limit asked for');
      assert.equal(await manager().sync(manyServices(50)), 0, 'a restarted manager finds everything in place');
    });

    it('parses the saved tables into the chains the manager owns', async () => {
      const parsed = parseIptablesSave(await save());
      const nat = parsed.get('nat');
      assert.ok(nat, 'nat table saved');
      const ours = [...nat.keys()].filter((c) => c.startsWith('IPVS-PROXY')).sort();
      assert.ok(ours.length > 0);
      for (const c of ['PREROUTING', 'OUTPUT', 'POSTROUTING']) assert.ok(nat.has(c), `builtin ${c}`);
    });

    it('refuses a restore that names an unknown chain, and applies none of it', async () => {
      const before = await save();
      const bad = '*nat\n:ATOMIC-CHECK - [0:0]\n-A ATOMIC-CHECK -j RETURN\n-A NO-SUCH-CHAIN -j RETURN\nCOMMIT\n';
      const res = await s.runner.run(`iptables-${backend}-restore`, ['--noflush'], bad);
      assert.notEqual(res.code, 0, 'refused');
      const after = await save();
      assert.equal(after.includes('ATOMIC-CHECK'), false, 'none of the refused input applied');
      assert.deepEqual(parseIptablesSave(after), parseIptablesSave(before));
    });

    it('keeps foreign chains and rules through sync and cleanup; cleanup leaves nothing of ours', async () => {
      await out(s.runner, `iptables-${backend}-restore`, ['--noflush'], FOREIGN_NAT);
      const m = manager({ ...DUAL, masqueradeAll: true });
      assert.equal(await m.sync(manyServices(3)), 3);
      const synced = await save();
      for (const line of FOREIGN_LINES) assert.ok(synced.includes(line), `kept after sync: ${line}`);
      assert.ok((await m.cleanup()) >= 3);
      const cleaned = await save();
      assert.equal(cleaned.includes('IPVS-PROXY'), false);
      assert.equal((await save('ip6tables')).includes('IPVS-PROXY'), false);
      for (const line of FOREIGN_LINES) assert.ok(cleaned.includes(line), `kept after cleanup: ${line}`);
      assert.equal(parseIpsetSave(await out(s.runner, 'ipset', ['save'])).size, 0);
      assert.equal(await m.cleanup(), 0);
    });
  });
}
