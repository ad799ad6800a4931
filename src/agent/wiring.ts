// The real dependencies of the agent, built from settings: kernel handles, the source, the
// iptables manager, node settings, the state record. The only place that knows which concrete
// class stands behind each interface.
import { release } from 'node:os';
import type { Settings } from '../config/settings.js';
import { openIpvs } from '../ipvs/client.js';
import type { IpvsClient } from '../ipvs/types.js';
import { iptablesSettingsFrom } from '../proxier/iptables-policy/index.js';
import { IptablesManager } from '../proxier/iptables-policy/manager.js';
import { ExecCommandRunner } from '../iptables/runner.js';
import { openIpsetClient, type IpsetClient } from '../iptables/ipset-client.js';
import type { EventSink } from '../k8s/events.js';
import type { ServiceSource } from '../vocabulary/source.js';
import { ManifestSource } from '../manifests/manifest-source.js';
import { openLinks } from '../netif/client.js';
import type { LinkClient } from '../netif/types.js';
import type { Logger } from '../ops/logger.js';
import { ConntrackTool } from '../proxier/conntrack.js';
import { FileStateStore } from '../proxier/state-record.js';
import { NodeSysctls, nodeSysctls } from '../proxier/node-sysctls.js';
import { ProcSysctl } from '../sysctl/sysctl.js';

export interface KernelHandles {
  ipvs: IpvsClient;
  links: LinkClient;
  /** Set entries over nfnetlink; undefined when the socket cannot be opened (entries then go through ipset restore). */
  sets: IpsetClient | undefined;
  /** A second IPVS and rtnetlink pair for the background check's reads (ProxierDeps.reader). */
  reader: { ipvs: IpvsClient; links: LinkClient };
  close(): void;
}

/** Open IPVS and rtnetlink handles; a kernel without IPVS fails here with the module's name. */
export async function openKernel(timeoutMs = 5000): Promise<KernelHandles> {
  const ipvs = await openIpvs({ timeoutMs });
  let links: LinkClient;
  try {
    links = await openLinks({ timeoutMs });
  } catch (err) {
    ipvs.close();
    throw err;
  }
  const opened: { close(): void }[] = [ipvs, links];
  const track = <T extends { close(): void }>(h: T): T => (opened.push(h), h);
  let reader: KernelHandles['reader'];
  try {
    // One dump socket: the background read is not in a hurry, and every dump callback takes the
    // kernel's IPVS mutex that the writer's requests wait for. Two dumping threads on a 2-CPU node
    // held a sync's IPVS writes for seconds under endpoint churn. At nice 10 for the same reason:
    // reading 10,000 services is seconds of CPU, and under churn (100 changes/s, 2 emulated CPUs)
    // it took that CPU from the syncs: p99 9.0 s at normal priority, 3.9 s at nice 10.
    reader = { ipvs: track(await openIpvs({ timeoutMs, dumpSockets: 1, dumpNice: 10 })), links: track(await openLinks({ timeoutMs })) };
  } catch (err) {
    for (const h of opened) h.close();
    throw err;
  }
  const sets = await openIpsetClient({ timeoutMs }).catch(() => undefined);
  return {
    ipvs,
    links,
    sets,
    reader,
    close() {
      ipvs.close();
      links.close();
      reader.ipvs.close();
      reader.links.close();
      sets?.close();
    },
  };
}

export class SourceSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceSettingsError';
  }
}

/** Manifests have no API server to post Events to: they go nowhere, by design. */
const noEvents: EventSink = {
  warn: () => undefined,
  flush: async () => undefined,
};

/**
 * --manifests wins over --kubeconfig; neither means in-cluster. The Kubernetes client is imported
 * only when it is used: loading it costs seconds on a small node, and --manifests needs none of it.
 */
export async function createSource(settings: Settings): Promise<{ source: ServiceSource; events: EventSink }> {
  if (settings.manifests !== undefined) {
    if (settings.kubeconfig !== undefined) throw new SourceSettingsError('--manifests and --kubeconfig are two sources; give one');
    return {
      source: new ManifestSource({ path: settings.manifests, serviceProxyName: settings.serviceProxyName, nodeName: settings.nodeName }),
      events: noEvents,
    };
  }
  const [{ KubeSource, loadKubeConfig }, { EventRecorder }] = await Promise.all([import('../k8s/kube-source.js'), import('../k8s/events.js')]);
  const kubeConfig = loadKubeConfig(settings.kubeconfig);
  return {
    source: new KubeSource({ kubeconfig: settings.kubeconfig, nodeName: settings.nodeName, serviceProxyName: settings.serviceProxyName }, kubeConfig),
    events: new EventRecorder(kubeConfig, { component: 'ipvs-proxy', host: settings.nodeName }),
  };
}

export function createIptables(settings: Settings, logger?: Logger, ipsetClient?: IpsetClient): IptablesManager {
  return new IptablesManager({
    ...(ipsetClient !== undefined ? { ipsetClient } : {}),
    // A restore of tens of thousands of set entries can take minutes on a slow or emulated node:
    // bounded, but not so tight that a large first sync can never finish.
    runner: new ExecCommandRunner({
      timeoutMs: 300_000,
      onCommand:
        logger &&
        ((r) =>
          logger.debug(
            `ran ${[r.cmd, ...r.args].join(' ')}${r.stdinBytes > 0 ? ` (${r.stdinBytes} bytes in)` : ''}: ${r.code === undefined ? 'failed to run' : `exit ${r.code}`}, ${r.durationMs.toFixed(1)} ms`,
            { op: 'command', durationMs: r.durationMs },
          )),
    }),
    settings: iptablesSettingsFrom(settings, ['inet', 'inet6']),
  });
}

export function createNodeSettings(settings: Settings, checkOnly: boolean): NodeSysctls {
  return new NodeSysctls(new ProcSysctl(), { wanted: nodeSysctls({ strictArp: settings.strictArp, kernelRelease: release() }), checkOnly });
}

export function createStateStore(settings: Settings): FileStateStore {
  return new FileStateStore(settings.stateDir);
}

export function createConntrack(): ConntrackTool {
  return new ConntrackTool();
}
