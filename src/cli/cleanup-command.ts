// `ipvs-proxy cleanup` (and kube-proxy's `--cleanup`): remove every virtual server, kube-ipvs0
// address, iptables chain and set the agent owns, by its state record and the adoption rules,
// and nothing else: keepalived's, kube-vip's and hand-made services stay.
import { createConntrack, createIptables, createStateStore, openKernel } from '../agent/wiring.js';
import type { Settings } from '../config/settings.js';
import { Proxier } from '../proxier/proxier.js';
import { systemClock } from '../proxier/clock.js';
import type { NodeSettingsApplier } from '../proxier/types.js';
import { reportKernelError } from './kernel-error.js';
import { loadRunConfig } from './run-config.js';

/** Cleanup changes no sysctl: the node's settings are left as the agent (or the admin) set them. */
const leaveNodeSettings: NodeSettingsApplier = {
  apply: async () => ({ writes: 0, errors: [] }),
};

/**
 * Without a record, nothing is removed: the record may be in another --state-dir (an agent
 * running with it would lose its chains and sets under it). `withoutRecord` removes what the
 * adoption rules call ours.
 */
export async function cleanupWith(settings: Settings, withoutRecord = false): Promise<number> {
  let kernel;
  try {
    kernel = await openKernel();
  } catch (err) {
    return reportKernelError(err);
  }
  try {
    const proxier = new Proxier({
      ipvs: kernel.ipvs,
      links: kernel.links,
      iptables: createIptables(settings, undefined, kernel.sets),
      conntrack: createConntrack(),
      sysctl: leaveNodeSettings,
      stateStore: createStateStore(settings),
      clock: systemClock,
      settings,
    });
    const r = await proxier.cleanup({ withoutRecord });
    if (r.noRecord !== undefined) {
      process.stderr.write(
        `ipvs-proxy: cleanup: ${r.noRecord} in ${settings.stateDir}; removed nothing. Give the agent's --state-dir, ` +
          `or --without-record to remove what the adoption rules call ours (virtual servers in --service-cidrs or on node ` +
          `addresses in the node-port range, kube-ipvs0's addresses and link, ipvs-proxy's iptables chains and sets)\n`,
      );
      // Not a failure: on a node where the agent never ran (the chart's cleanup DaemonSet) there is nothing of ours.
      return 0;
    }
    for (const f of r.foreign) process.stdout.write(`left ${f.kind} ${f.key} alone (${f.reason === 'excluded' ? 'inside --exclude-cidrs' : 'not ours'})\n`);
    for (const e of r.errors) process.stderr.write(`ipvs-proxy: ${e.operation} ${e.object}: ${e.message}\n`);
    process.stdout.write(`cleanup: ${r.kernelWrites} kernel writes; ${r.virtualServers} virtual servers and ${r.addresses} addresses still owned\n`);
    return r.errors.length === 0 ? 0 : 1;
  } finally {
    kernel.close();
  }
}

export async function cleanupCommand(opts: Record<string, unknown>): Promise<number> {
  const config = await loadRunConfig(opts);
  if (typeof config === 'number') return config;
  return cleanupWith(config.settings, opts.withoutRecord === true);
}
