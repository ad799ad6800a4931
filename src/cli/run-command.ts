// `ipvs-proxy run`: load settings, open the kernel, and either sync once (--once) or run the agent
// with its health, metrics and health check node port listeners until SIGTERM or SIGINT.
import { Agent, type AgentDeps } from '../agent/agent.js';
import { releaseFreeNativeMemory } from '../native/binding.js';
import { createConntrack, createIptables, createNodeSettings, createSource, createStateStore, openKernel } from '../agent/wiring.js';
import type { RunConfig } from '../config/flags.js';
import type { Settings } from '../config/settings.js';
import { HealthState, startHealthServer } from '../ops/health.js';
import { ALL_NODE_ADDRESSES, HealthCheckNodePorts } from '../ops/healthcheck-nodeports.js';
import { createLogger, type Logger } from '../ops/logger.js';
import type { RunningServer } from '../ops/http.js';
import type { FleetPublisher } from '../fleet/publisher.js';
import type { LinkAddress } from '../vocabulary/addresses.js';
import ipaddr from 'ipaddr.js';
import { systemClock } from '../proxier/clock.js';
import { diffState } from '../status/diff.js';
import { cleanupWith } from './cleanup-command.js';
import { loadRunConfig } from './run-config.js';
import { reportKernelError } from './kernel-error.js';
import { AGENT_VERSION } from './version.js';

/** Longest time health check node ports keep answering 503 after SIGTERM. */
const SHUTDOWN_GRACE_MAX_MS = 2000;

/** --check-config: the configuration passed (a bad one already exited 2); say so, with each notice. */
function reportValidConfig(config: RunConfig): number {
  for (const notice of config.notices) process.stderr.write(`ipvs-proxy: ${notice.kind}: ${notice.message}\n`);
  const source = config.configPath !== undefined ? `${config.configPath} (${config.configFormat ?? 'ipvs-proxy'})` : 'flags';
  process.stdout.write(`configuration valid: ${source}\n`);
  return 0;
}

export function loggerFor(settings: Settings): Logger {
  return createLogger({ level: settings.logLevel, format: settings.logFormat, defaultFields: { node: settings.nodeName } });
}

/** When `run` began (ms since the process started): node's start and the modules loaded until then. */
let runCommandStartedMs = 0;
/** When the agent was about to be built: settings read, kernel handles opened, the source set up (its client loaded). */
let agentStartedMs = 0;

export async function runCommand(opts: Record<string, unknown>): Promise<number> {
  runCommandStartedMs = performance.now();
  const config = await loadRunConfig(opts);
  if (typeof config === 'number') return config;
  if (config.checkConfig) return reportValidConfig(config);
  if (config.cleanup) return cleanupWith(config.settings);
  const { settings } = config;
  const noSource = missingSource(settings, process.env);
  if (noSource) {
    process.stderr.write(`ipvs-proxy: ${noSource}\n`);
    return 2;
  }
  const logger = loggerFor(settings);
  for (const n of config.notices) logger.warn(n.message, { op: 'config', field: n.field, kind: n.kind });

  let kernel;
  try {
    kernel = await openKernel();
  } catch (err) {
    return reportKernelError(err);
  }
  const { source, events } = await createSource(settings);
  const base = {
    settings,
    source,
    events,
    logger,
    clock: systemClock,
    ipvs: kernel.ipvs,
    links: kernel.links,
    reader: kernel.reader,
    iptables: createIptables(settings, logger, kernel.sets),
    conntrack: createConntrack(),
    sysctl: createNodeSettings(settings, settings.sysctlMode === 'check'),
    stateStore: createStateStore(settings),
    releaseFreeMemory: releaseFreeNativeMemory,
  } satisfies AgentDeps;

  try {
    return config.once ? await runOnce(base) : await runForever(base);
  } finally {
    kernel.close();
    logger.close();
  }
}

/** How long a one-shot run waits for its result to reach --status-redis before it exits. */
const ONCE_PUBLISH_DEADLINE_MS = 5000;

/**
 * One full sync; exit 0 only if a fresh read of the kernel then matches the desired state. With
 * --status-redis the result is published like any sync (a one-shot run doubles as a node check).
 */
async function runOnce(deps: AgentDeps): Promise<number> {
  const { settings, logger } = deps;
  const fleet = await fleetPublisher(settings, logger, () => true);
  try {
    agentStartedMs = performance.now();
    const agent = new Agent({ ...deps, fleet });
    let once;
    try {
      once = await agent.once();
    } catch (err) {
      // A source that yields nothing, or a claim that cannot be written: the kernel was left as it is.
      await deps.source.stop();
      logger.error((err as Error).message);
      return 1;
    }
    const { start, sync, change, phasesMs } = once;
    await deps.source.stop();
    const checkStart = performance.now();
    const entries = await deps.ipvs.dump({ counters: false });
    // Without a record every undesired entry counts as foreign, which is not drift: the same verdict
    // as with the record this run implies, without building it.
    const drift = diffState(change.state, entries, undefined, { includeForeign: false });
    // From the process's start (performance's time origin) to the summary line, in the order they
    // ran; the sync's own phases are on its `sync phases` line.
    const startPhases = {
      moduleLoading: runCommandStartedMs,
      setup: agentStartedMs - runCommandStartedMs,
      ...phasesMs,
      sync: sync.durationMs,
      check: performance.now() - checkStart,
      total: performance.now(),
    };
    logger.debug(
      `start phases: ${Object.entries(startPhases)
        .map(([p, ms]) => `${p} ${ms.toFixed(1)} ms`)
        .join(', ')}`,
      { op: 'start', startPhasesMs: startPhases },
    );
    // The sync pass's own writes, as its log line counts them; the start pass logged its own.
    process.stdout.write(
      `synced: ${sync.virtualServers} virtual servers, ${sync.realServers} real servers, ${sync.addresses} addresses, ` +
        `${sync.kernelWrites} kernel writes, ${sync.durationMs.toFixed(1)} ms\n`,
    );
    if (fleet && !(await fleet.settle(ONCE_PUBLISH_DEADLINE_MS))) {
      logger.warn(`fleet status: the result was not written to --status-redis within ${ONCE_PUBLISH_DEADLINE_MS} ms`);
    }
    const errors = [...start.errors, ...sync.errors];
    if (drift.drift || errors.length > 0) {
      logger.error(`the kernel does not match the desired state after the sync (${errors.length} errors)`);
      return 1;
    }
    return 0;
  } finally {
    fleet?.close();
  }
}

/** The fleet view's publisher when --status-redis is set; the Redis client is loaded only then. */
async function fleetPublisher(settings: Settings, logger: Logger, healthy: () => boolean): Promise<FleetPublisher | undefined> {
  if (!settings.statusRedis) return undefined;
  const { FleetPublisher } = await import('../fleet/publisher.js');
  return new FleetPublisher({
    url: settings.statusRedis,
    passwordFile: settings.statusRedisPasswordFile,
    nodeName: settings.nodeName,
    agentVersion: AGENT_VERSION,
    ttlMs: 3 * settings.syncPeriodMs,
    healthy,
    onEvent: (e) =>
      e.kind === 'available' ? logger.info(`fleet status: publishing to ${e.url}`) : logger.warn(`fleet status: ${e.url} unavailable: ${e.error}`),
  });
}

async function runForever(base: AgentDeps): Promise<number> {
  const { settings, logger } = base;
  // Loaded here, not at the top: `run --once` serves no metrics, and only --status-redis needs
  // the Redis client; both libraries take a while to load on a small node.
  const { ProxyMetrics, serviceTrafficStats, startMetricsServer } = await import('../ops/metrics.js');
  const health = new HealthState({ syncPeriodMs: settings.syncPeriodMs });
  let agent: Agent | undefined;
  const metrics = new ProxyMetrics({
    trafficSource: async () => (agent ? serviceTrafficStats(await base.ipvs.dump(), agent.model.state()) : []),
  });
  const healthChecks = new HealthCheckNodePorts({
    addresses: nodePortBindAddresses(settings, await base.links.listAddresses()),
    health,
  });
  const fleet = await fleetPublisher(settings, logger, () => health.snapshot().healthy);
  // Health check node ports answer 503 for a moment after SIGTERM: load balancers probing the node
  // see it drain (a refused connection can look like a network fault) without delaying exit long.
  const shutdownGraceMs = Math.min(settings.syncPeriodMs, SHUTDOWN_GRACE_MAX_MS);
  agent = new Agent({ ...base, health, metrics, healthChecks, fleet, shutdownGraceMs });

  const servers: RunningServer[] = [];
  servers.push(await startHealthServer({ bindAddress: settings.healthzBindAddress, health, metrics }));
  servers.push(await startMetricsServer({ bindAddress: settings.metricsBindAddress, registry: metrics.registry }));
  fleet?.start();

  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  try {
    await agent.run();
  } catch (err) {
    // No first list, or no first kernel read: stop everything we started, so the process ends.
    logger.error(`the agent could not start: ${(err as Error).message}`);
    await agent.stop();
    await Promise.all(servers.map((s) => s.close()));
    return 1;
  }
  const signal = await stopped;
  logger.info(`${signal}: stopping; the kernel keeps its state`);
  await agent.stop();
  await Promise.all(servers.map((s) => s.close()));
  return 0;
}

/**
 * Without --manifests, --kubeconfig or a pod's environment there is nothing to read: the Kubernetes
 * client would build a URL from unset variables and retry "Invalid URL" for ever. Say so at once.
 */
export function missingSource(settings: Pick<Settings, 'manifests' | 'kubeconfig'>, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (settings.manifests !== undefined || settings.kubeconfig !== undefined) return undefined;
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return undefined;
  return (
    'no source of Services: give --manifests <file or directory>, --kubeconfig <file> for an API server, ' +
    'or run in a pod, where KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are set (in-cluster)'
  );
}

/** Health check node ports bind on the host addresses inside --nodeport-addresses, or on every address. */
export function nodePortBindAddresses(settings: Pick<Settings, 'nodePortAddresses'>, host: readonly LinkAddress[]): readonly string[] {
  const cidrs = settings.nodePortAddresses.filter((c) => c !== 'primary').map((c) => ipaddr.parseCIDR(c));
  if (cidrs.length === 0 || cidrs.length !== settings.nodePortAddresses.length) return ALL_NODE_ADDRESSES;
  return host
    .map((a) => ipaddr.parse(a.address))
    .filter((ip) => cidrs.some(([net, len]) => ip.kind() === net.kind() && ip.match(net, len)))
    .map((ip) => ip.toString());
}
