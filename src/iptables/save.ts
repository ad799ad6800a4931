// Reading the kernel's state: iptables-save and `ipset save` output, parsed into plain data (pure).
import type { Family } from '../vocabulary/ipvs.js';
import { SaveOutputParseError } from './errors.js';
import { isOwnSetName, type IpSetMap, type IpSetType } from './ipsets.js';

/** One table of iptables-save output: chains in order of declaration, each with its rule specs. */
export type SavedTable = Map<string, string[]>;
/** Tables by name. */
export type SavedRules = Map<string, SavedTable>;

/** Parse iptables-save output. Rule specs are kept as printed, without "-A CHAIN ". */
export function parseIptablesSave(text: string, command = 'iptables-save'): SavedRules {
  const tables: SavedRules = new Map();
  let table: SavedTable | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = tables.get(line.slice(1)) ?? new Map();
      tables.set(line.slice(1), table);
    } else if (line === 'COMMIT') {
      table = undefined;
    } else if (line.startsWith(':') && table !== undefined) {
      const name = line.slice(1).split(' ')[0];
      if (!table.has(name)) table.set(name, []);
    } else if (line.startsWith('-A ') && table !== undefined) {
      const rest = line.slice(3);
      const space = rest.indexOf(' ');
      const chain = space < 0 ? rest : rest.slice(0, space);
      const spec = space < 0 ? '' : rest.slice(space + 1);
      const rules = table.get(chain) ?? [];
      rules.push(spec);
      table.set(chain, rules);
    } else {
      throw new SaveOutputParseError(command, i + 1, line);
    }
  }
  return tables;
}

/** Number of rules (lines starting with "-A") in iptables-save output. */
export function countSavedRules(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('-A ')) n++;
  return n;
}

/**
 * Parse `ipset save` output, keeping only this project's sets. A set of ours with a type this
 * code does not create is still returned (with its type as printed) so that it gets replaced.
 */
export function parseIpsetSave(text: string): IpSetMap {
  const sets: IpSetMap = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const words = line.split(/\s+/);
    const [verb, name] = words;
    if (name === undefined) throw new SaveOutputParseError('ipset save', i + 1, line);
    if (!isOwnSetName(name)) continue;
    if (verb === 'create') {
      const type = words[2] ?? '';
      const familyAt = words.indexOf('family');
      const family: Family = familyAt > 0 && words[familyAt + 1] === 'inet6' ? 'inet6' : 'inet';
      // A type this code never creates (an older layout, a hand-made set) is kept as printed: it
      // differs from every desired type, so the set is recreated with the right one.
      sets.set(name, { name, type: type as IpSetType, family, entries: new Set() });
    } else if (verb === 'add') {
      const set = sets.get(name);
      const entry = words[2];
      if (set === undefined || entry === undefined) throw new SaveOutputParseError('ipset save', i + 1, line);
      set.entries.add(entry);
    } else {
      throw new SaveOutputParseError('ipset save', i + 1, line);
    }
  }
  return sets;
}
