// An in-memory kernel behind the CommandRunner interface: ipset save/restore and
// iptables-{nft,legacy}-{save,restore} for both families, with the kernel's refusals that matter
// here (unknown chain or set, deleting a referenced chain or set, a rule that is not there).
// iptables-restore input is applied atomically, like the real tool; ipset restore line by line.
import type { Family } from '../../src/vocabulary/ipvs.js';
import { CommandNotFoundError } from '../../src/iptables/errors.js';
import type { IpsetClient, SetEntryFailure } from '../../src/iptables/ipset-client.js';
import type { CommandResult, CommandRunner } from '../../src/iptables/runner.js';
import { isOwnSetName, type IpSetMap, type IpSetType, type SetEntryGroup } from '../../src/iptables/ipsets.js';

interface FakeSet {
  type: string;
  family: Family;
  /** As created; ipset save prints it and the kernel's default is 65536. */
  maxelem: number;
  entries: Set<string>;
}
type Tables = Map<string, Map<string, string[]>>;

const BUILTIN: Readonly<Record<string, readonly string[]>> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};
const TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'MARK', 'MASQUERADE', 'SNAT', 'DNAT', 'LOG']);
const TOOL = /^(ip6?tables)-(nft|legacy)(-save|-restore)?$/;

class RestoreError extends Error {}

export interface FakeCall {
  cmd: string;
  args: readonly string[];
  stdin: string;
}

export class FakeKernel implements CommandRunner {
  readonly sets = new Map<string, FakeSet>();
  readonly calls: FakeCall[] = [];
  /** Commands that behave as not installed. */
  readonly missing = new Set<string>();
  /** The next call whose command line contains this text fails with status 1. */
  failNext: string | undefined;
  private readonly tables = new Map<string, Tables>();

  /** Set entry requests made through ipsetClient(), as the netlink client counts them. */
  setEntryRequests = 0;

  /** Runs of ipset restore and iptables-restore, and set entry requests: the kernel writes. */
  get writes(): number {
    return this.calls.filter((c) => c.args.includes('restore') || c.cmd.endsWith('-restore')).length + this.setEntryRequests;
  }

  /** An IpsetClient on this kernel's sets, refusing what the kernel refuses (no such set, wrong family). */
  ipsetClient(): IpsetClient {
    return {
      apply: async (groups: readonly SetEntryGroup[]) => {
        const failures: SetEntryFailure[] = [];
        let writes = 0;
        for (const g of groups) {
          writes += Math.ceil(g.entries.length / 256);
          const set = this.sets.get(g.set);
          for (const entry of g.entries) {
            const refuse = (errno: number, code: string, message: string): void => void failures.push({ op: g.op, set: g.set, entry, errno, code, message });
            if (set === undefined) refuse(2, 'ENOENT', 'the set does not exist');
            else if (set.family !== g.family) refuse(4105, 'E4105', "the entry's address family differs from the set's");
            else if (g.op === 'add') set.entries.add(entry);
            else set.entries.delete(entry);
          }
        }
        this.setEntryRequests += writes;
        return { writes, failures };
      },
      save: async () => {
        const out: IpSetMap = new Map();
        for (const [name, s] of this.sets) if (isOwnSetName(name)) out.set(name, { name, type: s.type as IpSetType, family: s.family, entries: new Set(s.entries) });
        return out;
      },
      close: () => undefined,
    };
  }

  /** Rules of one backend and family, created on first use with empty built-in chains. */
  tablesOf(backend: string, family: Family): Tables {
    const key = `${backend}/${family}`;
    let t = this.tables.get(key);
    if (t === undefined) {
      t = new Map();
      for (const [table, chains] of Object.entries(BUILTIN)) t.set(table, new Map(chains.map((c) => [c, []])));
      this.tables.set(key, t);
    }
    return t;
  }

  async run(cmd: string, args: readonly string[], stdin = ''): Promise<CommandResult> {
    this.calls.push({ cmd, args: [...args], stdin });
    if (this.missing.has(cmd)) throw new CommandNotFoundError(cmd);
    const line = [cmd, ...args].join(' ');
    if (this.failNext !== undefined && line.includes(this.failNext)) {
      this.failNext = undefined;
      return { code: 1, stdout: '', stderr: `${cmd}: injected failure` };
    }
    try {
      if (cmd === 'ipset') return this.ipset(args, stdin);
      const m = TOOL.exec(cmd);
      if (m === null) throw new CommandNotFoundError(cmd);
      const [, base, backend, verb] = m;
      const family: Family = base === 'iptables' ? 'inet' : 'inet6';
      if (verb === '-save') return ok(this.save(this.tablesOf(backend, family)));
      if (verb === '-restore') {
        const next = clone(this.tablesOf(backend, family));
        this.restoreInto(next, stdin, args.includes('--noflush'));
        this.tables.set(`${backend}/${family}`, next);
        return ok('');
      }
      if (args[0] === '--version') return ok(`${base} v1.8.9 (${backend === 'nft' ? 'nf_tables' : 'legacy'})\n`);
      throw new RestoreError(`unsupported arguments ${args.join(' ')}`);
    } catch (err) {
      if (err instanceof RestoreError) return { code: 1, stdout: '', stderr: err.message };
      throw err;
    }
  }

  private save(tables: Tables): string {
    const out: string[] = [];
    for (const [table, chains] of tables) {
      out.push(`*${table}`);
      for (const c of chains.keys()) out.push(BUILTIN[table]?.includes(c) ? `:${c} ACCEPT [0:0]` : `:${c} - [0:0]`);
      for (const [c, rules] of chains) for (const r of rules) out.push(`-A ${c} ${r}`);
      out.push('COMMIT');
    }
    return out.join('\n') + '\n';
  }

  private restoreInto(tables: Tables, text: string, noflush: boolean): void {
    let chains: Map<string, string[]> | undefined;
    let table = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        table = line.slice(1);
        chains = tables.get(table);
        if (chains === undefined) throw new RestoreError(`unknown table ${table}`);
        if (!noflush) for (const rules of chains.values()) rules.length = 0;
        continue;
      }
      if (chains === undefined) throw new RestoreError(`line outside a table: ${line}`);
      if (line === 'COMMIT') {
        chains = undefined;
        continue;
      }
      const [verb, chain = '', ...rest] = line.split(' ');
      let spec = rest.join(' ');
      if (verb.startsWith(':')) {
        const name = verb.slice(1);
        const rules = chains.get(name);
        if (rules === undefined) chains.set(name, []);
        else if (!BUILTIN[table]?.includes(name)) rules.length = 0;
        continue;
      }
      const rules = chains.get(chain);
      if (rules === undefined) throw new RestoreError(`${verb} ${chain}: no chain by that name`);
      if (verb === '-A' || verb === '-I') {
        if (verb === '-I' && /^\d+ /.test(spec)) spec = spec.slice(spec.indexOf(' ') + 1);
        this.checkReferences(chains, spec);
        if (verb === '-A') rules.push(spec);
        else rules.unshift(spec);
      } else if (verb === '-D') {
        const at = rules.indexOf(spec);
        if (at < 0) throw new RestoreError(`-D ${chain}: no such rule: ${spec}`);
        rules.splice(at, 1);
      } else if (verb === '-F') {
        rules.length = 0;
      } else if (verb === '-X') {
        if (BUILTIN[table]?.includes(chain)) throw new RestoreError(`-X ${chain}: built-in chain`);
        if (rules.length > 0) throw new RestoreError(`-X ${chain}: chain is not empty`);
        for (const other of chains.values()) {
          if (other.some((r) => r.endsWith(` -j ${chain}`))) throw new RestoreError(`-X ${chain}: chain is referenced`);
        }
        chains.delete(chain);
      } else throw new RestoreError(`unsupported line: ${line}`);
    }
    if (chains !== undefined) throw new RestoreError('missing COMMIT');
  }

  private checkReferences(chains: Map<string, string[]>, spec: string): void {
    const target = / -j (\S+)/.exec(` ${spec}`)?.[1];
    if (target !== undefined && !TARGETS.has(target) && !chains.has(target)) throw new RestoreError(`no chain/target ${target}`);
    for (const m of spec.matchAll(/--match-set (\S+)/g)) {
      if (!this.sets.has(m[1])) throw new RestoreError(`Set ${m[1]} doesn't exist`);
    }
  }

  private ipsetReferenced(name: string): boolean {
    for (const tables of this.tables.values()) {
      for (const chains of tables.values()) {
        for (const rules of chains.values()) if (rules.some((r) => r.includes(`--match-set ${name} `))) return true;
      }
    }
    return false;
  }

  private ipset(args: readonly string[], stdin: string): CommandResult {
    if (args[0] === 'save') {
      const out: string[] = [];
      for (const [name, s] of this.sets) {
        out.push(`create ${name} ${s.type} family ${s.family} hashsize 1024 maxelem ${s.maxelem} bucketsize 12 initval 0x1`);
        for (const e of s.entries) out.push(`add ${name} ${e}`);
      }
      return ok(out.length === 0 ? '' : out.join('\n') + '\n');
    }
    if (args[0] !== 'restore') throw new RestoreError(`ipset ${args.join(' ')}: unsupported`);
    const lines = stdin.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const words = lines[i].trim().split(/\s+/).filter((w) => w !== '');
      if (words.length === 0) continue;
      const exist = words.includes('-exist');
      const [verb, name = '', arg = ''] = words;
      const set = this.sets.get(name);
      const fail = (why: string): never => {
        throw new RestoreError(`ipset v7.17: Error in line ${i + 1}: ${why}`);
      };
      if (verb === 'create') {
        const familyAt = words.indexOf('family');
        const family: Family = words[familyAt + 1] === 'inet6' ? 'inet6' : 'inet';
        const maxelemAt = words.indexOf('maxelem');
        const maxelem = maxelemAt < 0 ? 65536 : Number(words[maxelemAt + 1]);
        if (set === undefined) this.sets.set(name, { type: arg, family, maxelem, entries: new Set() });
        else if (!exist || set.type !== arg || set.family !== family) fail('Set cannot be created: set with the same name already exists');
      } else if (set === undefined) {
        fail('The set with the given name does not exist');
      } else if (verb === 'add') {
        if (set.entries.has(arg) && !exist) fail("Element cannot be added to the set: it's already added");
        set.entries.add(arg);
      } else if (verb === 'del') {
        if (!set.entries.has(arg) && !exist) fail("Element cannot be deleted from the set: it's not added");
        set.entries.delete(arg);
      } else if (verb === 'flush') {
        set.entries.clear();
      } else if (verb === 'destroy') {
        if (this.ipsetReferenced(name)) fail('Set cannot be destroyed: it is in use by a kernel component');
        this.sets.delete(name);
      } else fail(`unknown command ${verb}`);
    }
    return ok('');
  }
}

function ok(stdout: string): CommandResult {
  return { code: 0, stdout, stderr: '' };
}

function clone(tables: Tables): Tables {
  return new Map([...tables].map(([t, chains]) => [t, new Map([...chains].map(([c, r]) => [c, [...r]]))]));
}
