// The agent's ipsets straight from and to the kernel, over nfnetlink. On a large cluster the sets
// hold tens of thousands of entries; `ipset restore` and `ipset save` parse or print each one in a
// child process, resolving its protocol through NSS each time, while the addon moves them 256 to
// a request. Sets are still created and destroyed by `ipset restore`, which picks a set-type
// revision its own `ipset save` can read.
import type { OpenOptions } from '../ipvs/client.js';
import type { Family } from '../vocabulary/ipvs.js';
import { loadNative, type NativeSetHandle } from '../native/binding.js';
import { native } from '../native/errors.js';
import { OWN_SET_PREFIXES, type IpSetMap, type IpSetType, type SetEntryGroup } from './ipsets.js';

export interface SetEntryFailure {
  op: 'add' | 'delete';
  set: string;
  entry: string;
  errno: number;
  code: string;
  message: string;
}

export interface IpsetClient {
  /**
   * Adds and deletes entries with ipset's -exist meaning (an entry already there, or already
   * gone, is no error). Every entry is tried; resolves with the kernel requests made and the
   * entries that failed.
   */
  apply(groups: readonly SetEntryGroup[]): Promise<{ writes: number; failures: SetEntryFailure[] }>;
  /** The agent's own sets with their entries, as parseIpsetSave reads `ipset save`. */
  save(): Promise<IpSetMap>;
  close(): void;
}

class NetlinkIpsetClient implements IpsetClient {
  constructor(private readonly handle: NativeSetHandle) {}

  async apply(groups: readonly SetEntryGroup[]): Promise<{ writes: number; failures: SetEntryFailure[] }> {
    if (groups.length === 0) return { writes: 0, failures: [] };
    const r = await native(this.handle.applyEntries(groups));
    const failures = r.failures.map(([g, e, errno, code, message]) => ({
      op: groups[g].op,
      set: groups[g].set,
      entry: groups[g].entries[e],
      errno,
      code,
      message,
    }));
    return { writes: r.requests, failures };
  }

  async save(): Promise<IpSetMap> {
    const sets: IpSetMap = new Map();
    for (const s of await native(this.handle.listSets(OWN_SET_PREFIXES))) {
      if (!OWN_SET_PREFIXES.some((p) => s.name.startsWith(p))) continue;
      // A type this code never creates is kept as the kernel names it, so the set is recreated.
      sets.set(s.name, { name: s.name, type: s.type as IpSetType, family: s.family as Family, entries: new Set(s.entries) });
    }
    return sets;
  }

  close(): void {
    this.handle.close().catch(() => undefined);
  }
}

/** Opens an nfnetlink (ipset) handle, optionally inside the network namespace at opts.netns. */
export async function openIpsetClient(opts: OpenOptions = {}): Promise<IpsetClient> {
  const handle = await native(loadNative().openSets(opts.netns, opts.timeoutMs ?? 5000));
  return new NetlinkIpsetClient(handle);
}
