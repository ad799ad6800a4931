// An in-memory kernel behind the CommandRunner interface: ipset save/restore and
// iptables-{nft,legacy}-{save,restore} for both families, with the kernel's refusals that matter
// here (unknown chain or set, deleting a referenced chain or set, a rule that is not there), each
// answered with the real tools' exit status and the line they name (test/unit/iptables/contract.host.test.ts
// holds the fake to them). iptables-restore commits table by table, like the real tool: a refused
// line discards its own table's input, the tables committed before it stay; ipset restore sends runs of adds or deletes to one set as one batch, as the real tool does.

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

/** A refusal: the tool's exit status (1, or 2 for a parameter problem such as a missing set) and its message. */
class RestoreError extends Error {
  constructor(
    message: string,
    readonly status = 1,
  ) {
    super(message);
  }
}

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
        for (const [name, s] of this.sets)
          if (isOwnSetName(name)) out.set(name, { name, type: s.type as IpSetType, family: s.family, entries: new Set(s.entries) });
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
        this.restoreInto(this.tablesOf(backend, family), stdin, args.includes('--noflush'), `${cmd} v1.8.9 (${backend === 'nft' ? 'nf_tables' : 'legacy'})`);
        return ok('');
      }
      if (args[0] === '--version') return ok(`${base} v1.8.9 (${backend === 'nft' ? 'nf_tables' : 'legacy'})\n`);
      throw new RestoreError(`unsupported arguments ${args.join(' ')}`);
    } catch (err) {
      if (err instanceof RestoreError) return { code: err.status, stdout: '', stderr: `${err.message}\n` };
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

  private restoreInto(tables: Tables, text: string, noflush: boolean, tool: string): void {
    let chains: Map<string, string[]> | undefined;
    let table = '';
    const lines = text.split('\n');
    // The real tool names the input line it refused, and a missing set with its own wording and status 2.
    const failed = (n: number, why: string): RestoreError => new RestoreError(`${tool.split(' ')[0]}: line ${n} failed: ${why}`);
    for (let n = 1; n <= lines.length; n++) {
      const line = lines[n - 1].trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        table = line.slice(1);
        // Worked on a copy: the table changes at its COMMIT, or not at all.
        const live = tables.get(table);
        if (live === undefined) throw failed(n, `unknown table ${table}`);
        chains = new Map([...live].map(([c, r]) => [c, [...r]]));
        if (!noflush) for (const rules of chains.values()) rules.length = 0;
        continue;
      }
      if (chains === undefined) throw failed(n, `line outside a table: ${line}`);
      if (line === 'COMMIT') {
        tables.set(table, chains);
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
      if (rules === undefined) throw failed(n, 'No chain/target/match by that name.');
      if (verb === '-A' || verb === '-I') {
        if (verb === '-I' && /^\d+ /.test(spec)) spec = spec.slice(spec.indexOf(' ') + 1);
        this.checkReferences(chains, spec, n, tool, failed);
        if (verb === '-A') rules.push(spec);
        else rules.unshift(spec);
      } else if (verb === '-D') {
        const at = rules.indexOf(spec);
        if (at < 0) throw failed(n, 'Bad rule (does a matching rule exist in that chain?).');
        rules.splice(at, 1);
      } else if (verb === '-F') {
        rules.length = 0;
      } else if (verb === '-X') {
        if (BUILTIN[table]?.includes(chain)) throw failed(n, `-X ${chain}: built-in chain`);
        if (rules.length > 0) throw failed(n, `-X ${chain}: chain is not empty`);
        for (const other of chains.values()) {
          if (other.some((r) => r.endsWith(` -j ${chain}`))) throw failed(n, `-X ${chain}: chain is referenced`);
        }
        chains.delete(chain);
      } else throw failed(n, `unsupported line: ${line}`);
    }
    if (chains !== undefined) throw new RestoreError(`${tool.split(' ')[0]}: COMMIT expected at line ${lines.length}`);
  }

  private checkReferences(chains: Map<string, string[]>, spec: string, n: number, tool: string, failed: (n: number, why: string) => RestoreError): void {
    const target = / -j (\S+)/.exec(` ${spec}`)?.[1];
    if (target !== undefined && !TARGETS.has(target) && !chains.has(target)) throw failed(n, 'No chain/target/match by that name.');
    for (const m of spec.matchAll(/--match-set (\S+)/g)) {
      if (!this.sets.has(m[1])) throw new RestoreError(`${tool}: Set ${m[1]} doesn't exist.\n\nError occurred at line: ${n}`, 2);
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
    const fail = (line: number, why: string): never => {
      throw new RestoreError(`ipset v7.17: Error in line ${line}: ${why}`);
    };
    // Like ipset: adds (or deletes) to one set in a row travel in one batch, sent when a line of
    // another command or set has been read, or at the end. A line ipset cannot read (a set that
    // does not exist, an unknown command) stops the run before the batch pending is sent.
    let batch: { verb: string; name: string; set: FakeSet; items: { entry: string; exist: boolean; line: number }[] } | undefined;
    const send = (): void => {
      const b = batch;
      batch = undefined;
      if (b === undefined) return;
      for (const { entry, exist, line } of b.items) {
        if (b.verb === 'add') {
          if (b.set.entries.has(entry) && !exist) fail(line, "Element cannot be added to the set: it's already added");
          b.set.entries.add(entry);
        } else {
          if (!b.set.entries.has(entry) && !exist) fail(line, "Element cannot be deleted from the set: it's not added");
          b.set.entries.delete(entry);
        }
      }
    };
    const lines = stdin.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const words = lines[i]
        .trim()
        .split(/\s+/)
        .filter((w) => w !== '');
      if (words.length === 0) continue;
      const exist = words.includes('-exist');
      const [verb, name = '', arg = ''] = words;
      const set = this.sets.get(name);
      if (verb === 'add' || verb === 'del') {
        if (set === undefined) fail(i + 1, 'The set with the given name does not exist');
        else {
          if (batch !== undefined && (batch.verb !== verb || batch.name !== name)) send();
          batch ??= { verb, name, set, items: [] };
          batch.items.push({ entry: arg, exist, line: i + 1 });
        }
        continue;
      }
      if (!['create', 'flush', 'destroy'].includes(verb)) fail(i + 1, `unknown command ${verb}`);
      send();
      if (verb === 'create') {
        const familyAt = words.indexOf('family');
        const family: Family = words[familyAt + 1] === 'inet6' ? 'inet6' : 'inet';
        const maxelemAt = words.indexOf('maxelem');
        const maxelem = maxelemAt < 0 ? 65536 : Number(words[maxelemAt + 1]);
        if (set === undefined) this.sets.set(name, { type: arg, family, maxelem, entries: new Set() });
        else if (!exist || set.type !== arg || set.family !== family) fail(i + 1, 'Set cannot be created: set with the same name already exists');
      } else if (set === undefined) {
        fail(i + 1, 'The set with the given name does not exist');
      } else if (verb === 'flush') {
        set.entries.clear();
      } else {
        if (this.ipsetReferenced(name)) fail(i + 1, 'Set cannot be destroyed: it is in use by a kernel component');
        this.sets.delete(name);
      }
    }
    send();
    return ok('');
  }
}

function ok(stdout: string): CommandResult {
  return { code: 0, stdout, stderr: '' };
}
