// `ipvs-proxy status`: ipvsadm's views read straight from the kernel, Kubernetes names from the
// agent's state record, drift against the desired state, and the fleet view from Redis.
// Only what every table view needs is imported here; the state record, the desired state's
// source and model, and the fleet reader are loaded by the options that use them, so a plain
// `status` starts about as fast as node itself (the Kubernetes client alone takes longer).
import { ConfigError } from '../config/errors.js';
import { openIpvs } from '../ipvs/client.js';
import type { DesiredState } from '../model/types.js';
import type { LinkClient } from '../netif/types.js';
import { openLinks } from '../netif/client.js';
import type { StateRecord } from '../proxier/state-record.js';
import type { OwnedRealServer, OwnedVirtualServer, OwnershipRecord } from '../status/ownership.js';
import { runStatus, StatusUsageError, type StatusOptions } from '../status/run-status.js';
import { reportKernelError } from './kernel-error.js';

/** Every netlink wait of the command (as the agent's openKernel). */
const KERNEL_TIMEOUT_MS = 5000;
import { DEFAULT_STATE_DIR, DUMMY_LINK_NAME } from '../config/defaults.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The state record reduced to what the views need; virtual servers without a recorded owner are
 * left out. `nowWall` (ms since the epoch) dates the record's write for the views.
 */
export function ownershipFromRecord(record: StateRecord, nowWall = Date.now()): OwnershipRecord {
  const virtualServers = new Map<string, OwnedVirtualServer>();
  for (const [key, vs] of Object.entries(record.virtualServers)) {
    if (!vs.owner) continue;
    const reals = new Map<string, OwnedRealServer>();
    for (const [rk, names] of Object.entries(vs.reals)) {
      const [namespace, name] = (names.pod ?? '').split('/');
      reals.set(rk, { pod: names.pod && name ? { namespace, name } : undefined, nodeName: names.node });
    }
    virtualServers.set(key, { owner: vs.owner, reals });
  }
  return { virtualServers, recordAgeMs: record.writtenAt === undefined ? undefined : nowWall - record.writtenAt };
}

/** The desired state from the configured source, the way the agent computes it. */
async function desiredFromSource(opts: Record<string, unknown>): Promise<DesiredState> {
  const [{ createSource }, { modelConfigFrom }, { loadSettings, readConfigFile }, { ServiceModel }] = await Promise.all([
    import('../agent/wiring.js'),
    import('../agent/model-config.js'),
    import('../config/load.js'),
    import('../model/service-model.js'),
  ]);
  const configFile = str(opts.config) !== undefined ? await readConfigFile(str(opts.config)!) : undefined;
  const flags: Record<string, unknown> = {};
  for (const key of ['manifests', 'kubeconfig', 'nodeName'] as const) if (str(opts[key]) !== undefined) flags[key] = opts[key];
  const { settings } = loadSettings({ flags, configFile, env: process.env });
  if (settings.manifests === undefined && settings.kubeconfig === undefined) {
    throw new StatusUsageError('--diff needs the desired state: give --manifests PATH or --kubeconfig PATH (or --config with either)');
  }
  const { source } = await createSource(settings);
  const model = new ServiceModel(modelConfigFrom(settings));
  source.start({ onEvents: (events) => model.apply(events), onWarning: (m) => process.stderr.write(`ipvs-proxy: ${m}\n`) });
  try {
    await source.synced(60_000);
  } finally {
    await source.stop();
  }
  model.setNodeAddresses(await withLinks((links) => links.listAddresses()));
  return model.takeChanges().state;
}

/** An rtnetlink handle for one read, opened only by the views that need links or addresses. */
async function withLinks<T>(read: (links: LinkClient) => Promise<T>): Promise<T> {
  const links = await openLinks({ timeoutMs: KERNEL_TIMEOUT_MS });
  try {
    return await read(links);
  } finally {
    links.close();
  }
}

export async function statusCommand(opts: Record<string, unknown>): Promise<number> {
  try {
    if (opts.cluster) return await clusterStatus(opts);
    return await tableStatus(opts);
  } catch (err) {
    if (err instanceof StatusUsageError || err instanceof ConfigError) {
      process.stderr.write(`ipvs-proxy status: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** VIPs the agent made local by a route on kube-ipvs0: 'route', or 'route+address' when bound too. */
export async function vipForms(links: LinkClient, linkName = DUMMY_LINK_NAME): Promise<Map<string, string>> {
  const forms = new Map<string, string>();
  const ifindex = await links.linkIndex(linkName);
  if (ifindex === undefined) return forms;
  const [routes, addresses] = await Promise.all([links.listLocalRoutes(ifindex), links.listAddresses(ifindex)]);
  const bound = new Set(addresses.map((a) => a.address));
  for (const r of routes) if (r.ours) forms.set(r.address, bound.has(r.address) ? 'route+address' : 'route');
  return forms;
}

async function clusterStatus(opts: Record<string, unknown>): Promise<number> {
  const url = str(opts.statusRedis);
  if (!url) throw new StatusUsageError('--cluster needs --status-redis URL');
  const { fleetJson, formatFleet, readFleet } = await import('../fleet/reader.js');
  const nodes = await readFleet(url, { passwordFile: str(opts.statusRedisPasswordFile) });
  const now = Date.now();
  process.stdout.write(opts.json ? `${JSON.stringify(fleetJson(nodes, now), null, 2)}\n` : formatFleet(nodes, now));
  return 0;
}

async function tableStatus(opts: Record<string, unknown>): Promise<number> {
  const options: StatusOptions = {
    stats: opts.stats === true,
    rate: opts.rate === true,
    exact: opts.exact === true,
    thresholds: opts.thresholds === true,
    persistentConn: opts.persistentConn === true,
    timeout: opts.timeout === true,
    save: opts.save === true,
    connections: opts.connections === true,
    nosort: opts.nosort === true,
    names: opts.names === true,
    owned: opts.owned === true,
    diff: opts.diff === true,
    includeForeign: opts.includeForeign === true,
    json: opts.json === true,
  };
  let ownership: OwnershipRecord | undefined;
  if (options.names || options.owned || options.diff) {
    const dir = str(opts.stateDir) ?? DEFAULT_STATE_DIR;
    // A record that cannot be read is reported, and status goes on as without one.
    const { FileStateStore } = await import('../proxier/state-record.js');
    const { record, corrupt } = await new FileStateStore(dir).load();
    if (corrupt !== undefined) process.stderr.write(`ipvs-proxy status: ${corrupt}\n`);
    ownership = record ? ownershipFromRecord(record) : undefined;
    if (!ownership && !options.diff) throw new StatusUsageError(`--names and --owned need the agent's state record; none is readable in ${dir} (--state-dir)`);
  }
  // Only the IPVS handle: the agent's second reader pair and the set socket are not for status.
  let ipvs;
  try {
    ipvs = await openIpvs({ timeoutMs: KERNEL_TIMEOUT_MS });
  } catch (err) {
    return reportKernelError(err);
  }
  try {
    const desired = options.diff ? await desiredFromSource(opts) : undefined;
    // How each VIP is made local: the --names annotation and the JSON table's vipLocalBy.
    const tableJson = options.json && !options.diff && !options.connections && !options.timeout;
    const localBy = options.names || tableJson ? await withLinks(vipForms) : undefined;
    const result = await runStatus(options, { ipvs, ownership, desired, localBy });
    process.stdout.write(result.output);
    return result.exitCode;
  } finally {
    ipvs.close();
  }
}
