// One contract for the iptables side, run against the fake kernel (test/support/fake-iptables.ts) and the
// real iptables-restore/iptables-save and ipset in a fresh network namespace (root needed), on both
// backends: what the manager sees through its CommandRunner must be the same on each, its error
// paths included (a refused restore, a tool not installed, ipset refusing, one family failing).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNetns, type Netns } from '../../kernel/helpers/netns.js';
import type { Backend } from '../../../src/iptables/backend.js';
import { CommandFailedError, CommandNotFoundError } from '../../../src/iptables/errors.js';
import { openIpsetClient, type IpsetClient } from '../../../src/iptables/ipset-client.js';
import { SetEntryError } from '../../../src/proxier/iptables-policy/errors.js';
import { FakeKernel } from '../../support/fake-iptables.js';
import { IptablesManager } from '../../../src/proxier/iptables-policy/manager.js';
import { ExecCommandRunner, type CommandResult, type CommandRunner } from '../../../src/iptables/runner.js';
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
  /** Set entries over netlink, on the same kernel (the fake's, or the namespace's). */
  ipsetClient: IpsetClient;
  done(): Promise<void>;
}

type Make = () => Promise<Subject>;

const subjects: [string, Backend, Make | false][] = [];
for (const backend of ['nft', 'legacy'] as const) {
  subjects.push([
    `fake (${backend})`,
    backend,
    async () => {
      const kernel = new FakeKernel();
      return { runner: kernel, ipsetClient: kernel.ipsetClient(), done: async () => {} };
    },
  ]);
  subjects.push([
    `real tools in a netns (${backend})`,
    backend,
    isRoot &&
      (async () => {
        const ns: Netns = await createNetns('iptc');
        const ipsetClient = await openIpsetClient({ netns: ns.path });
        const runner = new ExecCommandRunner({ prefix: ['ip', 'netns', 'exec', ns.name], timeoutMs: 60_000 });
        return {
          runner,
          ipsetClient,
          done: async () => {
            ipsetClient.close();
            await ns.destroy();
          },
        };
      }),
  ]);
}

/**
 * The runner under test with two controls that leave every answer to the tools: a command can be
 * hidden (it then fails as spawning a program that is not installed does: through `ip netns exec`
 * a missing program is an exit status, not ENOENT), and the next input to a command can get one
 * more line before its last COMMIT, which the tool must refuse.
 */
class Shelf implements CommandRunner {
  readonly hidden = new Set<string>();
  private spoil: { cmd: string; line: string } | undefined;

  constructor(private readonly inner: CommandRunner) {}

  spoilNext(cmd: string, line: string): void {
    this.spoil = { cmd, line };
  }

  async run(cmd: string, args: readonly string[], stdin?: string): Promise<CommandResult> {
    if (this.hidden.has(cmd)) throw new CommandNotFoundError(cmd);
    let input = stdin;
    if (this.spoil?.cmd === cmd && input !== undefined) {
      const at = input.lastIndexOf('COMMIT');
      input = `${input.slice(0, at)}${this.spoil.line}\n${input.slice(at)}`;
      this.spoil = undefined;
    }
    return this.inner.run(cmd, args, input);
  }
}

/** Rules of ours in iptables-save output (foreign rules left by other cases are not counted). */
const ourRules = (saved: string): number => saved.split('\n').filter((l) => l.startsWith('-A ') && l.includes('IPVS-PROXY')).length;

/** Chains of ours in one table of parsed iptables-save output. */
const ownChains = (saved: ReturnType<typeof parseIptablesSave>, table: string): string[] =>
  [...(saved.get(table)?.keys() ?? [])].filter((c) => c.startsWith('IPVS-PROXY'));

const failedWith =
  (command: string, stderr: RegExp, code = 1) =>
  (e: unknown): boolean =>
    e instanceof CommandFailedError && e.command === command && e.code === code && stderr.test(e.stderr);

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
      assert.match(
        saved,
        new RegExp(`^create ${setName('inet', SetRole.LOOP_BACK)} hash:ip,port,ip family inet .*maxelem 1048576 `, 'm'),
        'the size limit asked for',
      );
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

    it('a restore the tool refuses fails the sync naming the tool, its status and the line; the refused table has none of it; the next sync completes', async () => {
      await manager().cleanup();
      const shelf = new Shelf(s.runner);
      const m = new IptablesManager({ runner: shelf, settings: DUAL, backend });
      const restore = `iptables-${backend}-restore`;
      // Into the last table of the input (filter): iptables-restore commits table by table, so
      // nat, committed before it, stays.
      shelf.spoilNext(restore, '-A NO-SUCH-CHAIN -j RETURN');
      await assert.rejects(m.sync(manyServices(5)), failedWith(restore, /line \d+ failed/));
      const saved = parseIptablesSave(await save());
      assert.deepEqual(ownChains(saved, 'filter'), [], 'no chain of the refused table');
      assert.ok(ownChains(saved, 'nat').length > 0, 'the table committed before it');
      assert.equal((await save('ip6tables')).includes('IPVS-PROXY'), false, 'IPv6 was not reached');
      assert.equal(await m.sync(manyServices(5)), 2, 'the next sync reads the kernel again: the sets are there, both families are written');
      assert.equal(ourRules(await save()), 21);
      assert.equal(await m.sync(manyServices(5)), 0);
    });

    it('a restore refusing a missing set exits with status 2 and names the set', async () => {
      const res = await s.runner.run(`iptables-${backend}-restore`, ['--noflush'], '*filter\n-A INPUT -m set --match-set NO-SUCH-SET dst -j ACCEPT\nCOMMIT\n');
      assert.equal(res.code, 2);
      assert.match(res.stderr, /Set NO-SUCH-SET doesn't exist\.[\s\S]*Error occurred at line: 2/);
    });

    it("one family refused: the other family's rules stay, the error names the refusing tool, the next sync writes only what is missing", async () => {
      await manager().cleanup();
      const shelf = new Shelf(s.runner);
      const m = new IptablesManager({ runner: shelf, settings: DUAL, backend });
      const restore6 = `ip6tables-${backend}-restore`;
      shelf.spoilNext(restore6, '-A NO-SUCH-CHAIN -j RETURN');
      await assert.rejects(m.sync(manyServices(5)), failedWith(restore6, /line \d+ failed/));
      assert.equal(ourRules(await save()), 21, 'IPv4 landed');
      assert.deepEqual(ownChains(parseIptablesSave(await save('ip6tables')), 'filter'), [], 'none of the refused IPv6 table');
      assert.equal(await m.sync(manyServices(5)), 1, 'IPv6 only');
      assert.ok((await save('ip6tables')).includes('IPVS-PROXY-SERVICES'));
      assert.equal(await m.sync(manyServices(5)), 0);
    });

    it("a tool not installed fails the sync with its name; cleanup skips the other backend's missing tools but not its own", async () => {
      await manager().cleanup();
      const shelf = new Shelf(s.runner);
      const m = new IptablesManager({ runner: shelf, settings: DUAL, backend });
      const restore = `iptables-${backend}-restore`;
      shelf.hidden.add(restore);
      await assert.rejects(m.sync(manyServices(2)), (e: unknown) => e instanceof CommandNotFoundError && e.command === restore);
      assert.equal((await save()).includes('IPVS-PROXY'), false);
      shelf.hidden.clear();
      assert.equal(await m.sync(manyServices(2)), 2, 'installed again: the rules of both families');
      const other = backend === 'nft' ? 'legacy' : 'nft';
      for (const tool of ['iptables', 'ip6tables']) for (const verb of ['save', 'restore']) shelf.hidden.add(`${tool}-${other}-${verb}`);
      assert.equal(await m.cleanup(), 3, 'both families and the sets, on the backend in use');
      assert.equal((await save()).includes('IPVS-PROXY'), false);
      assert.equal(parseIpsetSave(await out(s.runner, 'ipset', ['save'])).size, 0);
      shelf.hidden.add(`iptables-${backend}-save`);
      await assert.rejects(m.cleanup(), (e: unknown) => e instanceof CommandNotFoundError && e.command === `iptables-${backend}-save`);
    });

    it('ipset restore stops at a line it cannot read, before sending the entries pending ahead of it', async () => {
      const input =
        'create CONTRACT-A hash:ip family inet\nadd CONTRACT-A 10.1.0.1\nadd CONTRACT-A 10.1.0.2\nflush CONTRACT-A\nadd CONTRACT-A 10.1.0.3\nadd NO-SUCH-SET 10.1.0.4\n';
      const res = await s.runner.run('ipset', ['restore'], input);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /Error in line 6: The set with the given name does not exist/);
      const saved = await out(s.runner, 'ipset', ['save']);
      assert.match(saved, /^create CONTRACT-A hash:ip family inet /m);
      assert.doesNotMatch(saved, /^add CONTRACT-A /m, 'the flush ran; the add after it was still pending');
      await out(s.runner, 'ipset', ['restore'], 'destroy CONTRACT-A\n');
    });

    it('sets removed behind its back: ipset restore refuses the entries, the next sync puts everything back', async () => {
      await manager().cleanup();
      const m = manager();
      assert.equal(await m.sync(manyServices(2)), 3);
      await manager().cleanup();
      await assert.rejects(m.sync(manyServices(4)), failedWith('ipset', /Error in line 1: The set with the given name does not exist/));
      assert.equal(await m.sync(manyServices(4)), 3, 'read again: sets, then both families');
      assert.equal(parseIpsetSave(await out(s.runner, 'ipset', ['save'])).get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 4);
      assert.equal(ourRules(await save()), 21);
    });

    it('sets removed behind its back, entries over netlink: a SetEntryError naming each refused entry, then a full repair', async () => {
      await manager().cleanup();
      const m = new IptablesManager({ runner: s.runner, settings: DUAL, backend, ipsetClient: s.ipsetClient });
      assert.ok((await m.sync(manyServices(2))) >= 3);
      await manager().cleanup();
      const err = await m.sync(manyServices(4)).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof SetEntryError, `a SetEntryError, got ${String(err)}`);
      assert.ok(err.failures.length > 0 && err.failures.every((f) => f.code === 'ENOENT'), JSON.stringify(err.failures.slice(0, 3)));
      assert.ok(err.failures.some((f) => f.set === setName('inet', SetRole.CLUSTER_IP)));
      assert.ok((await m.sync(manyServices(4))) >= 3);
      assert.equal((await s.ipsetClient.save()).get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 4);
      assert.equal(ourRules(await save()), 21);
      assert.equal(await m.sync(manyServices(4)), 0);
    });

    it('a set of ours that a foreign rule uses is not replaced: ipset refuses, the rule and the set stay; once the rule goes, the next sync replaces it', async () => {
      await manager().cleanup();
      const name = setName('inet', SetRole.CLUSTER_IP);
      await out(s.runner, 'ipset', ['restore'], `create ${name} hash:ip family inet\n`);
      const restore = `iptables-${backend}-restore`;
      await out(s.runner, restore, ['--noflush'], `*filter\n:FOREIGN-SETS - [0:0]\n-A FOREIGN-SETS -m set --match-set ${name} dst -j RETURN\nCOMMIT\n`);
      const m = manager();
      await assert.rejects(m.sync(manyServices(2)), failedWith('ipset', /Set cannot be destroyed: it is in use by a kernel component/));
      assert.equal(parseIpsetSave(await out(s.runner, 'ipset', ['save'])).get(name)?.type, 'hash:ip');
      assert.ok((await save()).includes(`-A FOREIGN-SETS -m set --match-set ${name} dst -j RETURN`), 'the foreign rule is kept');
      await out(s.runner, restore, ['--noflush'], '*filter\n-F FOREIGN-SETS\n-X FOREIGN-SETS\nCOMMIT\n');
      assert.ok((await m.sync(manyServices(2))) >= 3);
      assert.equal(parseIpsetSave(await out(s.runner, 'ipset', ['save'])).get(name)?.type, 'hash:ip,port');
      await m.cleanup();
    });
  });
}
