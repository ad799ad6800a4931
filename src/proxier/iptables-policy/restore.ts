// Rendering what is fed to `iptables-restore --noflush` and `ipset restore` (pure). Only chains
// and sets of our own are ever declared, flushed or destroyed; jumps from the built-in chains are
// added only when missing, so applying twice changes nothing.
import type { Family } from '../../vocabulary/ipvs.js';
import { chainSpecs, isOwnChainName, jumpRule, JUMPS, TABLES, type ChainSpec, type RuleOptions } from './rules.js';
import type { SavedRules } from '../../iptables/save.js';
import type { IpSetContent, IpSetMap, SetEntryGroup } from '../../iptables/ipsets.js';
import type { IptablesSettings } from './sets.js';

/** ipset's default maxelem (65536) is too small for LOOP-BACK on a large cluster. */
const SET_MAXELEM = 1048576;

/** True when the kernel's table already has a rule in `from` that jumps to `to`. */
function hasJump(saved: SavedRules, table: string, from: string, to: string): boolean {
  const rules = saved.get(table)?.get(from) ?? [];
  return rules.some((r) => r === `-j ${to}` || r.endsWith(` -j ${to}`));
}

/** What differs between the kernel's rules (one family) and ours; empty when nothing does. */
export interface RulesDiff {
  /** Our chains whose rules differ from the desired ones, or that are missing. */
  changedChains: ChainSpec[];
  /** Jumps from built-in chains that are missing. */
  missingJumps: typeof JUMPS;
  /** Chains of ours in the kernel that are no longer part of the rules. */
  staleChains: { table: string; chain: string }[];
}

export function diffRules(desired: readonly ChainSpec[], saved: SavedRules): RulesDiff {
  const changedChains = desired.filter((c) => {
    const current = saved.get(c.table)?.get(c.name);
    return current === undefined || current.length !== c.rules.length || current.some((r, i) => r !== c.rules[i]);
  });
  const missingJumps = JUMPS.filter((j) => !hasJump(saved, j.table, j.from, j.to));
  const wanted = new Set(desired.map((c) => `${c.table}/${c.name}`));
  const staleChains: { table: string; chain: string }[] = [];
  for (const [table, chains] of saved) {
    for (const chain of chains.keys()) {
      if (isOwnChainName(chain) && !wanted.has(`${table}/${chain}`)) staleChains.push({ table, chain });
    }
  }
  return { changedChains, missingJumps, staleChains };
}

export function isEmptyDiff(d: RulesDiff): boolean {
  return d.changedChains.length === 0 && d.missingJumps.length === 0 && d.staleChains.length === 0;
}

/**
 * The `iptables-restore --noflush` input that makes one family's rules equal to ours, given what
 * the kernel has (an empty SavedRules when unknown or fresh). Every chain of ours is declared
 * (which flushes it) and rewritten; jumps are inserted at the top of built-in chains only when
 * missing; stale chains of ours are deleted. Empty string when nothing differs.
 */
export function renderIptablesRestore(family: Family, settings: IptablesSettings, options: RuleOptions, saved: SavedRules = new Map()): string {
  const desired = chainSpecs(family, settings, options);
  const diff = diffRules(desired, saved);
  if (isEmptyDiff(diff)) return '';
  const out: string[] = [];
  for (const table of TABLES) {
    const chains = desired.filter((c) => c.table === table);
    const stale = diff.staleChains.filter((s) => s.table === table);
    out.push(`*${table}`);
    for (const c of chains) out.push(`:${c.name} - [0:0]`);
    for (const s of stale) out.push(`:${s.chain} - [0:0]`);
    for (const c of chains) for (const r of c.rules) out.push(`-A ${c.name} ${r}`);
    for (const j of diff.missingJumps.filter((m) => m.table === table)) out.push(`-I ${j.from} ${jumpRule(j)}`);
    out.push(...jumpsInto(saved, table, new Set(stale.map((s) => s.chain))));
    for (const s of stale) out.push(`-X ${s.chain}`);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** `-D` lines for every rule outside our chains that jumps or goes to one of `targets`. */
function jumpsInto(saved: SavedRules, table: string, targets: ReadonlySet<string>): string[] {
  const deletes: string[] = [];
  for (const [chain, rules] of saved.get(table) ?? []) {
    if (isOwnChainName(chain)) continue;
    for (const r of rules) {
      // A jump to a user chain takes no options, so its target ends the rule.
      const m = / -[jg] (\S+)$/.exec(` ${r}`);
      if (m !== null && targets.has(m[1])) deletes.push(`-D ${chain} ${r}`);
    }
  }
  return deletes;
}

/**
 * The `iptables-restore --noflush` input that removes every chain of ours and every rule anywhere
 * that jumps to one, from one family's saved rules. Empty string when there is nothing of ours.
 */
export function renderIptablesCleanup(saved: SavedRules): string {
  const out: string[] = [];
  for (const [table, chains] of saved) {
    const own = [...chains.keys()].filter(isOwnChainName);
    const deletes = jumpsInto(saved, table, new Set(own));
    if (own.length === 0 && deletes.length === 0) continue;
    out.push(`*${table}`);
    for (const o of own) out.push(`:${o} - [0:0]`);
    out.push(...deletes);
    for (const o of own) out.push(`-X ${o}`);
    out.push('COMMIT');
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

/**
 * The `iptables-restore --noflush` input that empties every chain of ours (they stay, as do the
 * jumps to them), so that no rule references a set any more. Empty string when we have none.
 */
export function renderIptablesFlush(saved: SavedRules): string {
  const out: string[] = [];
  for (const [table, chains] of saved) {
    const own = [...chains.keys()].filter(isOwnChainName);
    if (own.length === 0) continue;
    out.push(`*${table}`, ...own.map((o) => `:${o} - [0:0]`), 'COMMIT');
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

/** The kernel's rules, as iptables-save would print them, once ours are in place (for memory). */
export function expectedSaved(family: Family, settings: IptablesSettings, options: RuleOptions): SavedRules {
  const saved: SavedRules = new Map();
  const tableOf = (t: string): Map<string, string[]> => {
    const existing = saved.get(t);
    if (existing !== undefined) return existing;
    const created = new Map<string, string[]>();
    saved.set(t, created);
    return created;
  };
  for (const j of JUMPS) tableOf(j.table).set(j.from, [...(tableOf(j.table).get(j.from) ?? []), jumpRule(j)]);
  for (const c of chainSpecs(family, settings, options)) tableOf(c.table).set(c.name, [...c.rules]);
  return saved;
}

function createLine(set: IpSetContent): string {
  return `create ${set.name} ${set.type} family ${set.family} hashsize 1024 maxelem ${SET_MAXELEM} -exist`;
}

/** Sets whose type or family in the kernel differs from ours: they must be destroyed and recreated. */
export function conflictingSets(current: IpSetMap, desired: IpSetMap): string[] {
  const out: string[] = [];
  for (const [name, want] of desired) {
    const have = current.get(name);
    if (have !== undefined && (have.type !== want.type || have.family !== want.family)) out.push(name);
  }
  return out;
}

/**
 * The entry adds and deletes that turn the current sets' contents into the desired ones, per set
 * (adds first). A set that is missing or recreated (wrong type or family) counts as empty.
 */
export function ipsetEntryChanges(current: IpSetMap, desired: IpSetMap): SetEntryGroup[] {
  const groups: SetEntryGroup[] = [];
  const conflicts = new Set(conflictingSets(current, desired));
  for (const [name, want] of desired) {
    const have = conflicts.has(name) ? undefined : current.get(name);
    const base = { set: name, family: want.family, type: want.type };
    const add = [...want.entries].filter((e) => have === undefined || !have.entries.has(e));
    const del = have === undefined ? [] : [...have.entries].filter((e) => !want.entries.has(e));
    if (add.length > 0) groups.push({ op: 'add', ...base, entries: add });
    if (del.length > 0) groups.push({ op: 'delete', ...base, entries: del });
  }
  return groups;
}

/**
 * The `ipset restore` input that gives every desired set its type: missing sets are created, a set
 * of the wrong type or family is destroyed and recreated (the caller must first make sure no rule
 * references it). With `entries`, the entry adds and deletes follow (ipsetEntryChanges), so
 * the one run makes the sets equal to the desired ones. Sets that are current but not desired are
 * left alone (see renderIpsetDestroy). Empty string when nothing is to be done.
 */
export function renderIpsetRestore(current: IpSetMap, desired: IpSetMap, entries = true): string {
  const out: string[] = [];
  const conflicts = new Set(conflictingSets(current, desired));
  for (const [name, want] of desired) {
    if (conflicts.has(name)) out.push(`destroy ${name}`);
    if (conflicts.has(name) || !current.has(name)) out.push(createLine(want));
  }
  if (entries) {
    for (const g of ipsetEntryChanges(current, desired)) {
      const verb = g.op === 'add' ? 'add' : 'del';
      for (const e of g.entries) out.push(`${verb} ${g.set} ${e} -exist`);
    }
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

/** The `ipset restore` input that destroys the named sets. */
export function renderIpsetDestroy(names: Iterable<string>): string {
  const out = [...names].map((n) => `destroy ${n}`);
  return out.length === 0 ? '' : out.join('\n') + '\n';
}
