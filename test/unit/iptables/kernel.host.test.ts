// Real iptables-restore and ipset in a fresh network namespace on this host (root needed; no IPVS
// needed): the rules apply on both backends, their count is the same at 1 and 1,000 services,
// foreign rules survive, and cleanup leaves nothing of ours.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNetns, type Netns } from '../../kernel/helpers/netns.js';
import type { Backend } from '../../../src/iptables/backend.js';
import { IptablesManager } from '../../../src/proxier/iptables-policy/manager.js';
import { ExecCommandRunner } from '../../../src/iptables/runner.js';
import { countSavedRules, parseIpsetSave } from '../../../src/iptables/save.js';
import { setName, SetRole, type IptablesSettings } from '../../../src/proxier/iptables-policy/sets.js';
import { manyServices, real, SETTINGS, stateOf, vs } from './fixtures.js';

const isRoot = process.getuid?.() === 0;
const DUAL: IptablesSettings = { ...SETTINGS, families: ['inet', 'inet6'], clusterCidr: ['10.244.0.0/16'] };
const FOREIGN_NAT =
  '*nat\n:FOREIGN-CHAIN - [0:0]\n-A FOREIGN-CHAIN -d 10.9.0.1/32 -j RETURN\n-A PREROUTING -j FOREIGN-CHAIN\n' +
  '-A POSTROUTING -s 172.18.0.0/16 -j MASQUERADE\nCOMMIT\n';

async function save(ns: Netns, backend: Backend, family: 'inet' | 'inet6' = 'inet'): Promise<string> {
  const text = await ns.run(`${family === 'inet' ? 'iptables' : 'ip6tables'}-${backend}-save`, []);
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

for (const backend of ['nft', 'legacy'] as const) {
  describe(`iptables on the host kernel (${backend})`, { skip: !isRoot && 'needs root' }, () => {
    let ns: Netns;
    let runner: ExecCommandRunner;
    const make = (settings = DUAL): IptablesManager => new IptablesManager({ runner, settings, backend });

    before(async () => {
      ns = await createNetns('ipt');
      runner = new ExecCommandRunner({ prefix: ['ip', 'netns', 'exec', ns.name], timeoutMs: 60_000 });
    });
    after(async () => ns.destroy());

    it('applies the rules, with the same count at 1 and 1,000 services', async () => {
      const m = make();
      assert.equal(await m.sync(manyServices(1)), 3);
      const atOne = await save(ns, backend);
      const v6AtOne = await save(ns, backend, 'inet6');
      assert.ok(atOne.includes('-j MASQUERADE --random-fully'));
      assert.ok(v6AtOne.includes('--reject-with icmp6-port-unreachable'));
      assert.equal(await m.sync(manyServices(1000)), 1, 'only the sets change');
      assert.equal(countSavedRules(await save(ns, backend)), countSavedRules(atOne));
      assert.equal(await save(ns, backend), atOne);
      assert.equal(countSavedRules(atOne), 21);
      const sets = parseIpsetSave(await ns.run('ipset', ['save']));
      assert.equal(sets.get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 1000);
      assert.equal(sets.get(setName('inet', SetRole.LOOP_BACK))?.entries.size, 2000);
      assert.equal(sets.get(setName('inet', SetRole.LB_SOURCE_CIDR))?.entries.size, 1000);
    });

    it('programs IPv6 services into the IPv6 sets and ip6tables', async () => {
      const m = make();
      const v6 = stateOf([
        vs({ kind: 'ClusterIP', address: 'fd00:96::10', port: 53, protocol: 'UDP', reals: [real('fd00:244::5', 5353, 'inet6')] }),
        vs({ kind: 'LoadBalancer', address: 'fd00:17::1', port: 443, sourceRanges: ['2001:db8::/32'] }),
      ]);
      assert.equal(await m.sync(v6), 1, 'the rules are in place from the previous test: sets only');
      const sets = parseIpsetSave(await ns.run('ipset', ['save']));
      assert.deepEqual([...(sets.get(setName('inet6', SetRole.LOOP_BACK))?.entries ?? [])], ['fd00:244::5,udp:5353,fd00:244::5']);
      assert.deepEqual([...(sets.get(setName('inet6', SetRole.LB_SOURCE_CIDR))?.entries ?? [])], ['fd00:17::1,tcp:443,2001:db8::/32']);
      assert.equal(sets.get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 0);
      assert.equal(await make().sync(v6), 0);
      assert.equal(await m.sync(manyServices(1000)), 1);
    });

    it('makes zero writes when a restarted manager finds everything in place', async () => {
      assert.equal(await make().sync(manyServices(1000)), 0);
      const m = make();
      assert.equal(await m.sync(manyServices(999)), 1);
      assert.equal(await m.sync(manyServices(999)), 0);
    });

    it('keeps a foreign chain and rules in nat through sync and cleanup; cleanup leaves nothing of ours', async () => {
      const cmd = `iptables-${backend}-restore`;
      await ns.run(cmd, ['--noflush'], { input: FOREIGN_NAT });
      await ns.run('ipset', ['create', 'FOREIGN-SET', 'hash:ip']);
      const m = make({ ...DUAL, masqueradeAll: true });
      assert.equal(await m.sync(manyServices(3)), 3, 'sets shrink, rules change for masquerade-all');
      const synced = await save(ns, backend);
      for (const line of ['-A FOREIGN-CHAIN -d 10.9.0.1/32 -j RETURN', '-A PREROUTING -j FOREIGN-CHAIN', '-A POSTROUTING -s 172.18.0.0/16 -j MASQUERADE']) {
        assert.ok(synced.includes(line), `kept after sync: ${line}`);
      }
      assert.ok((await m.cleanup()) >= 3);
      const cleaned = await save(ns, backend);
      assert.equal(cleaned.includes('IPVS-PROXY'), false);
      assert.equal((await save(ns, backend, 'inet6')).includes('IPVS-PROXY'), false);
      for (const line of [
        ':FOREIGN-CHAIN - [0:0]',
        '-A FOREIGN-CHAIN -d 10.9.0.1/32 -j RETURN',
        '-A PREROUTING -j FOREIGN-CHAIN',
        '-A POSTROUTING -s 172.18.0.0/16 -j MASQUERADE',
      ]) {
        assert.ok(cleaned.includes(line), `kept after cleanup: ${line}`);
      }
      assert.equal((await ns.run('ipset', ['list', '-n'])).trim(), 'FOREIGN-SET');
      assert.equal(await m.cleanup(), 0);
      await ns.run('ipset', ['destroy', 'FOREIGN-SET']);
    });

    it('replaces a set of ours of the wrong type that rules reference', async () => {
      const name = setName('inet', SetRole.VIP);
      // What an older layout might leave: our set name with another type, referenced by our chain.
      await ns.run('ipset', ['create', name, 'hash:net']);
      await ns.run(`iptables-${backend}-restore`, ['--noflush'], {
        input: `*filter\n:IPVS-PROXY-INPUT - [0:0]\n-A IPVS-PROXY-INPUT -m set --match-set ${name} dst -j RETURN\n-A INPUT -j IPVS-PROXY-INPUT\nCOMMIT\n`,
      });
      const fresh = make();
      assert.ok((await fresh.sync(manyServices(2))) >= 3);
      const sets = parseIpsetSave(await ns.run('ipset', ['save']));
      assert.equal(sets.get(name)?.type, 'hash:ip');
      assert.equal(sets.get(name)?.entries.size, 6);
      assert.equal(await make().sync(manyServices(2)), 0);
      await fresh.cleanup();
    });
  });
}

describe('backend detection on the host kernel', { skip: !isRoot && 'needs root' }, () => {
  it('follows the backend that holds the rules', async () => {
    const ns = await createNetns('ipt');
    try {
      const runner = new ExecCommandRunner({ prefix: ['ip', 'netns', 'exec', ns.name] });
      assert.equal(await new IptablesManager({ runner, settings: SETTINGS }).backend(), 'nft');
      await ns.run('iptables-legacy-restore', ['--noflush'], { input: FOREIGN_NAT });
      assert.equal(await new IptablesManager({ runner, settings: SETTINGS }).backend(), 'legacy');
    } finally {
      await ns.destroy();
    }
  });
});
