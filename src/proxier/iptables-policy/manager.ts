// Keeps the node's iptables rules and ipsets equal to the desired state, with as few kernel writes
// as possible: set entries over netlink (IpsetClient; `ipset restore` without one), sets created
// and destroyed by `ipset restore`, one `iptables-restore --noflush` per family when the rules
// themselves differ, nothing at all when nothing changed. The kernel is read at the first sync
// and after requestVerification(); in between, what was last applied is trusted.
import type { Family } from '../../vocabulary/ipvs.js';
import type { DesiredState } from '../../model/types.js';
import type { ChangedKeys } from '../types.js';
import { commandsFor, detectBackendWithSaves, detectRandomFully, type Backend } from '../../iptables/backend.js';
import { CommandFailedError, CommandNotFoundError } from '../../iptables/errors.js';
import { SetEntryError } from './errors.js';
import type { IpsetClient } from '../../iptables/ipset-client.js';
import {
  conflictingSets,
  expectedSaved,
  ipsetEntryChanges,
  renderIpsetDestroy,
  renderIpsetRestore,
  renderIptablesCleanup,
  renderIptablesFlush,
  renderIptablesRestore,
} from './restore.js';
import type { RuleOptions } from './rules.js';
import type { CommandRunner } from '../../iptables/runner.js';
import { parseIpsetSave, parseIptablesSave, type SavedRules } from '../../iptables/save.js';
import { isOwnSetName, type IpSetMap } from '../../iptables/ipsets.js';
import { ruleDataFrom, virtualServerFingerprint, type IptablesSettings } from './sets.js';

export interface IptablesManagerOptions {
  runner: CommandRunner;
  settings: IptablesSettings;
  /** Use this backend instead of detecting the one the node uses. */
  backend?: Backend;
  /** Force MASQUERADE --random-fully on or off instead of asking iptables for its version. */
  randomFully?: boolean;
  /** Extra arguments for iptables-restore; default waits up to 5 s for the xtables lock. */
  restoreArgs?: readonly string[];
  /**
   * Reads the sets and writes their entries (the bulk of them) over netlink. Without one, the
   * sets are read with `ipset save` and entries go through `ipset restore` with their creation.
   */
  ipsetClient?: IpsetClient;
}

interface KernelView {
  sets: IpSetMap;
  rules: Map<Family, SavedRules>;
}

const ALL_FAMILIES: readonly Family[] = ['inet', 'inet6'];

export class IptablesManager {
  private readonly runner: CommandRunner;
  private readonly settings: IptablesSettings;
  private readonly restoreArgs: readonly string[];
  private readonly ipsetClient: IpsetClient | undefined;
  private chosenBackend: Backend | undefined;
  private randomFully: boolean | undefined;
  /** What the kernel holds after our last successful sync; undefined means "read it first". */
  private applied: KernelView | undefined;
  private verificationRequested = false;
  /** Per virtual server, the set entries it contributed at the last successful sync. */
  private fingerprints = new Map<string, string>();

  constructor(options: IptablesManagerOptions) {
    this.runner = options.runner;
    this.settings = options.settings;
    this.chosenBackend = options.backend;
    this.randomFully = options.randomFully;
    this.restoreArgs = options.restoreArgs ?? ['-w', '5'];
    this.ipsetClient = options.ipsetClient;
  }

  /** The detection under way; undefined before it and after it failed (the next need retries). */
  private detecting: Promise<Backend> | undefined;

  /** The backend in use (detected once, on first need). */
  async backend(): Promise<Backend> {
    return (await this.detect()).backend;
  }

  /**
   * Learn the node's iptables (backend, --random-fully) ahead of the first sync: the agent calls
   * this while its sources are read, so the tools' start-up is off the path to the first write.
   * Never rejects: a failure here is met again, and reported, by the sync.
   */
  async prepare(): Promise<void> {
    await this.detect().catch(() => undefined);
  }

  /**
   * The backend, and, for the caller whose call ran the detection, the save output of the chosen
   * backend that the detection read: that caller's kernel read uses it instead of running the
   * same tools again a moment later. A caller that only waited for a detection started earlier
   * (by prepare(), possibly long before) reads the kernel afresh.
   */
  private async detect(): Promise<{ backend: Backend; saves?: Map<Family, string> }> {
    if (this.chosenBackend !== undefined) return { backend: this.chosenBackend };
    if (this.detecting !== undefined) return { backend: await this.detecting };
    let saves: Map<Family, string> | undefined;
    const detecting = (async () => {
      // One round of processes instead of three: both backends' save tools, and beside them
      // `iptables-nft --version` (nft is the choice when in doubt and on current distributions;
      // a node found on legacy asks its binary afterwards, in ruleOptions).
      const nftVersion = this.randomFully === undefined ? detectRandomFully(this.runner, 'nft').catch(() => undefined) : undefined;
      try {
        const detection = await detectBackendWithSaves(this.runner);
        saves = detection.saves;
        const randomFully = await nftVersion;
        if (detection.backend === 'nft' && randomFully !== undefined) this.randomFully ??= randomFully;
        this.chosenBackend ??= detection.backend;
        return this.chosenBackend;
      } finally {
        await nftVersion;
      }
    })();
    this.detecting = detecting;
    try {
      return { backend: await detecting, saves };
    } catch (err) {
      this.detecting = undefined;
      throw err;
    }
  }

  private async ruleOptions(): Promise<RuleOptions> {
    this.randomFully ??= await detectRandomFully(this.runner, await this.backend());
    return { randomFully: this.randomFully };
  }

  /**
   * Make the next sync read the kernel instead of trusting memory. Taken up when that sync
   * starts: a sync already under way would otherwise put back the view this discards.
   */
  requestVerification(): void {
    this.verificationRequested = true;
  }

  /**
   * The periodic verification beside the syncs: read sets and rules, and compare them with what
   * the last sync applied (no desired-state computation). True when they match. False when they
   * differ, when nothing was applied yet, or when a sync replaced the applied view meanwhile (its
   * writes may show in the read or not); the caller then asks for a verifying sync.
   */
  async check(): Promise<boolean> {
    const applied = this.applied;
    if (applied === undefined) return false;
    const { backend, saves } = await this.detect();
    const [options, kernel] = await Promise.all([this.ruleOptions(), this.readKernel(backend, saves)]);
    if (this.applied !== applied) return false;
    if (renderIpsetRestore(kernel.sets, applied.sets) !== '') return false;
    if (this.staleSets(kernel.sets, applied.sets).length > 0) return false;
    return this.settings.families.every((f) => renderIptablesRestore(f, this.settings, options, kernel.rules.get(f)) === '');
  }

  /** Sets of ours in the kernel, of a family served here, that the desired sets do not name. */
  private staleSets(current: IpSetMap, desired: IpSetMap): { name: string }[] {
    const served = new Set(this.settings.families);
    return [...current.values()].filter((s) => served.has(s.family) && !desired.has(s.name));
  }

  /**
   * Bring sets and rules to the desired state. Returns the number of kernel writes made (each
   * ipset or iptables-restore run is one); 0 when everything already matched.
   */
  async sync(state: DesiredState, changed?: ChangedKeys): Promise<number> {
    if (this.verificationRequested) {
      this.verificationRequested = false;
      this.applied = undefined;
    }
    // An endpoint change elsewhere in a 10,000-service cluster must not cost a pass over every
    // service: when the changed virtual servers contribute the same set entries as before and no
    // VIP changed, the sets and rules are already right.
    if (changed && this.applied && changed.addresses.size === 0 && this.unchangedEntries(state, changed.virtualServers)) return 0;
    const { backend, saves } = await this.detect();
    try {
      // The kernel is read (child processes, netlink) before the desired sets are computed: in
      // a cold sync the agent programs IPVS and addresses meanwhile, and the computation then
      // runs while those finish instead of delaying their start.
      const [options, kernel] = await Promise.all([this.ruleOptions(), this.applied ?? this.readKernel(backend, saves)]);
      const fingerprints = new Map<string, string>();
      const desiredSets = ruleDataFrom(state, this.settings, fingerprints);
      let writes = 0;
      const rules = new Map(kernel.rules);

      // A set of ours with the wrong type can only be replaced once no rule references it.
      if (conflictingSets(kernel.sets, desiredSets).length > 0) {
        for (const family of this.settings.families) {
          const text = renderIptablesFlush(rules.get(family) ?? new Map());
          if (text === '') continue;
          await this.restore(backend, family, text);
          writes++;
          rules.set(family, await this.saveRules(backend, family));
        }
      }

      const setsText = renderIpsetRestore(kernel.sets, desiredSets, this.ipsetClient === undefined);
      if (setsText !== '') {
        await this.ipset(['restore'], setsText);
        writes++;
      }
      if (this.ipsetClient !== undefined) {
        const r = await this.ipsetClient.apply(ipsetEntryChanges(kernel.sets, desiredSets));
        writes += r.writes;
        if (r.failures.length > 0) throw new SetEntryError(r.failures);
      }
      for (const family of this.settings.families) {
        const text = renderIptablesRestore(family, this.settings, options, rules.get(family));
        if (text === '') continue;
        await this.restore(backend, family, text);
        writes++;
      }
      const stale = this.staleSets(kernel.sets, desiredSets);
      if (stale.length > 0) {
        await this.ipset(['restore'], renderIpsetDestroy(stale.map((s) => s.name)));
        writes++;
      }

      const appliedRules = new Map<Family, SavedRules>();
      for (const family of this.settings.families) appliedRules.set(family, expectedSaved(family, this.settings, options));
      this.applied = { sets: desiredSets, rules: appliedRules };
      this.fingerprints = fingerprints;
      return writes;
    } catch (err) {
      this.applied = undefined;
      throw err;
    }
  }

  /**
   * Remove every chain and set of ours, and every rule that jumps to our chains, from both
   * backends and both families; nothing else is touched. Returns the number of kernel writes.
   */
  async cleanup(): Promise<number> {
    this.applied = undefined;
    const primary = await this.backend();
    let writes = 0;
    for (const backend of [primary, primary === 'nft' ? 'legacy' : 'nft'] as const) {
      for (const family of ALL_FAMILIES) {
        // Only the backend and families we run on must be readable; elsewhere a missing tool or
        // an unsupported family simply holds nothing of ours.
        const required = backend === primary && this.settings.families.includes(family);
        let saved: SavedRules;
        try {
          saved = await this.saveRules(backend, family);
        } catch (err) {
          if (required || !(err instanceof CommandFailedError || err instanceof CommandNotFoundError)) throw err;
          continue;
        }
        const text = renderIptablesCleanup(saved);
        if (text === '') continue;
        await this.restore(backend, family, text);
        writes++;
      }
    }
    const own = [...(await this.readSets()).keys()].filter(isOwnSetName);
    if (own.length > 0) {
      await this.ipset(['restore'], renderIpsetDestroy(own));
      writes++;
    }
    return writes;
  }

  private unchangedEntries(state: DesiredState, keys: ReadonlySet<string>): boolean {
    for (const key of keys) {
      const dvs = state.virtualServers.get(key);
      const now = dvs === undefined ? undefined : virtualServerFingerprint(dvs, this.settings);
      if (now !== this.fingerprints.get(key)) return false;
    }
    return true;
  }

  /** Sets and rules as the kernel holds them; `fresh` is save output read just now (by the detection). */
  private async readKernel(backend: Backend, fresh?: ReadonlyMap<Family, string>): Promise<KernelView> {
    const rulesOf = async (family: Family): Promise<SavedRules> => {
      const text = fresh?.get(family);
      return text !== undefined ? parseIptablesSave(text, commandsFor(backend, family).save) : this.saveRules(backend, family);
    };
    const [sets, ...saved] = await Promise.all([this.readSets(), ...this.settings.families.map(rulesOf)]);
    const rules = new Map<Family, SavedRules>();
    this.settings.families.forEach((family, i) => rules.set(family, saved[i]));
    return { sets, rules };
  }

  private async readSets(): Promise<IpSetMap> {
    return this.ipsetClient !== undefined ? this.ipsetClient.save() : parseIpsetSave(await this.ipset(['save']));
  }

  private async saveRules(backend: Backend, family: Family): Promise<SavedRules> {
    const cmd = commandsFor(backend, family).save;
    const r = await this.runner.run(cmd, []);
    if (r.code !== 0) throw new CommandFailedError(cmd, [], r.code, r.stderr);
    return parseIptablesSave(r.stdout, cmd);
  }

  private async restore(backend: Backend, family: Family, text: string): Promise<void> {
    const cmd = commandsFor(backend, family).restore;
    const args = ['--noflush', ...this.restoreArgs];
    const r = await this.runner.run(cmd, args, text);
    if (r.code !== 0) throw new CommandFailedError(cmd, args, r.code, r.stderr);
  }

  private async ipset(args: string[], stdin?: string): Promise<string> {
    const r = await this.runner.run('ipset', args, stdin);
    if (r.code !== 0) throw new CommandFailedError('ipset', args, r.code, r.stderr);
    return r.stdout;
  }
}
