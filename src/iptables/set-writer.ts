// Set entries straight to the kernel. On a large cluster the sets hold tens of thousands of
// entries; `ipset restore` parses each one in a child process (resolving its protocol through
// NSS), while the addon sends them over nfnetlink, 256 to a request. Sets are still created and
// destroyed by `ipset restore`, which picks a type revision its own `ipset save` can read.
import type { OpenOptions } from '../ipvs/client.js';
import { loadNative, type NativeSetHandle } from '../native/binding.js';
import { native } from '../native/errors.js';
import type { SetEntryGroup } from './restore.js';

export interface SetEntryFailure {
  op: 'add' | 'delete';
  set: string;
  entry: string;
  errno: number;
  code: string;
  message: string;
}

export interface SetEntryWriter {
  /**
   * Adds and deletes entries with ipset's -exist meaning (an entry already there, or already
   * gone, is no error). Every entry is tried; resolves with the kernel requests made and the
   * entries that failed.
   */
  apply(groups: readonly SetEntryGroup[]): Promise<{ writes: number; failures: SetEntryFailure[] }>;
  close(): void;
}

class NetlinkSetWriter implements SetEntryWriter {
  constructor(private readonly handle: NativeSetHandle) {}

  async apply(groups: readonly SetEntryGroup[]): Promise<{ writes: number; failures: SetEntryFailure[] }> {
    if (groups.length === 0) return { writes: 0, failures: [] };
    const r = await native(this.handle.applyEntries(groups));
    const failures = r.failures.map(([g, e, errno, code, message]) => ({ op: groups[g].op, set: groups[g].set, entry: groups[g].entries[e], errno, code, message }));
    return { writes: r.requests, failures };
  }

  close(): void {
    this.handle.close().catch(() => undefined);
  }
}

/** Opens an nfnetlink (ipset) handle, optionally inside the network namespace at opts.netns. */
export async function openSetWriter(opts: OpenOptions = {}): Promise<SetEntryWriter> {
  const handle = await native(loadNative().openSets(opts.netns, opts.timeoutMs ?? 5000));
  return new NetlinkSetWriter(handle);
}
