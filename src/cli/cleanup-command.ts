// `ipvs-proxy cleanup` (and kube-proxy's `--cleanup`): remove every virtual server, kube-ipvs0
// address, iptables chain and set the agent owns, by its state record and the adoption rules,
// and nothing else: keepalived's, kube-vip's and hand-made services stay.
import { createConntrack, createIptables, createStateStore, openKernel } from '../agent/wiring.js';
import type { Settings } from '../config/settings.js';
import { Proxier } from '../proxier/proxier.js';
import { systemClock } from '../proxier/clock.js';
import type { NodeSettingsApplier } from '../proxier/types.js';
import { loadRunConfig, reportKernelError } from './run-command.js';

/** Cleanup changes no sysctl: the node's settings are left as the agent (or the admin) set them. */
const leaveNodeSettings: NodeSettingsApplier = {
  apply: async () => ({ writes: 0, errors: [] }),
};

export async function cleanupWith(settings: Settings): Promise<number> {
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
    const r = await proxier.cleanup();
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
  return cleanupWith(config.settings);
}
