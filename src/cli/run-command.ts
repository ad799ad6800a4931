// `ipvs-proxy run`: load settings, open the kernel, and either sync once (--once) or run the agent
// with its health, metrics and health check node port listeners until SIGTERM or SIGINT.
import { Agent, type AgentDeps } from '../agent/agent.js';
import { createConntrack, createIptables, createNodeSettings, createSource, createStateStore, openKernel } from '../agent/wiring.js';
import { ConfigError } from '../config/errors.js';
import { settingsFromCommander, type RunConfig } from '../config/flags.js';
import type { Settings } from '../config/settings.js';
import { FleetPublisher } from '../fleet/publisher.js';
import { IpvsUnavailableError } from '../native/errors.js';
import { HealthState, startHealthServer } from '../ops/health.js';
import { ALL_NODE_ADDRESSES, HealthCheckNodePorts } from '../ops/healthcheck-nodeports.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { ProxyMetrics, serviceTrafficStats, startMetricsServer } from '../ops/metrics.js';
import type { RunningServer } from '../ops/http.js';
import type { LinkAddress } from '../netif/types.js';
import ipaddr from 'ipaddr.js';
import { systemClock } from '../proxier/clock.js';
import { diffState } from '../status/diff.js';
import { ownershipFromDesired } from '../status/ownership.js';
import { cleanupWith } from './cleanup-command.js';
import { AGENT_VERSION } from './version.js';

/** Longest time health check node ports keep answering 503 after SIGTERM. */
const SHUTDOWN_GRACE_MAX_MS = 2000;

/** Settings from flags and --config; a ConfigError is printed with every bad key, exit 2. */
export async function loadRunConfig(opts: Record<string, unknown>): Promise<RunConfig | number> {
  try {
    return await settingsFromCommander(opts, { isTTY: process.stderr.isTTY === true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ipvs-proxy: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

export function loggerFor(settings: Settings): Logger {
  return createLogger({ level: settings.logLevel, format: settings.logFormat, defaultFields: { node: settings.nodeName } });
}

/** A kernel without IPVS is the one failure every user hits first: say what to do. */
export function reportKernelError(err: unknown): number {
  if (err instanceof IpvsUnavailableError) {
    process.stderr.write(`ipvs-proxy: ${err.message}\n`);
    return 1;
  }
  throw err;
}

export async function runCommand(opts: Record<string, unknown>): Promise<number> {
  const config = await loadRunConfig(opts);
  if (typeof config === 'number') return config;
  if (config.cleanup) return cleanupWith(config.settings);
  const { settings } = config;
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
  } satisfies AgentDeps;

  try {
    return config.once ? await runOnce(base) : await runForever(base);
  } finally {
    kernel.close();
    logger.close();
  }
}

/** One full sync; exit 0 only if a fresh read of the kernel then matches the desired state. */
async function runOnce(deps: AgentDeps): Promise<number> {
  const agent = new Agent({ ...deps });
  let once;
  try {
    once = await agent.once();
  } catch (err) {
    // A source that yields nothing, or a claim that cannot be written: the kernel was left as it is.
    await deps.source.stop();
    deps.logger.error((err as Error).message);
    return 1;
  }
  const { start, sync, change } = once;
  await deps.source.stop();
  const entries = await deps.ipvs.dump();
  const drift = diffState(change.state, entries, ownershipFromDesired(change.state), { includeForeign: false });
  const writes = start.kernelWrites + sync.kernelWrites;
  process.stdout.write(
    `synced: ${sync.virtualServers} virtual servers, ${sync.realServers} real servers, ${sync.addresses} addresses, ` +
      `${writes} kernel writes, ${sync.durationMs.toFixed(1)} ms\n`,
  );
  const errors = [...start.errors, ...sync.errors];
  if (drift.drift || errors.length > 0) {
    deps.logger.error(`the kernel does not match the desired state after the sync (${errors.length} errors)`);
    return 1;
  }
  return 0;
}

async function runForever(base: AgentDeps): Promise<number> {
  const { settings, logger } = base;
  const health = new HealthState({ syncPeriodMs: settings.syncPeriodMs });
  let agent: Agent | undefined;
  const metrics = new ProxyMetrics({
    trafficSource: async () => (agent ? serviceTrafficStats(await base.ipvs.dump(), agent.model.state()) : []),
  });
  const healthChecks = new HealthCheckNodePorts({
    addresses: nodePortBindAddresses(settings, await base.links.listAddresses()),
    health,
  });
  const fleet = settings.statusRedis
    ? new FleetPublisher({
        url: settings.statusRedis,
        passwordFile: settings.statusRedisPasswordFile,
        nodeName: settings.nodeName,
        agentVersion: AGENT_VERSION,
        ttlMs: 3 * settings.syncPeriodMs,
        healthy: () => health.snapshot().healthy,
        onEvent: (e) =>
          e.kind === 'available' ? logger.info(`fleet status: publishing to ${e.url}`) : logger.warn(`fleet status: ${e.url} unavailable: ${e.error}`),
      })
    : undefined;
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

/** Health check node ports bind on the host addresses inside --nodeport-addresses, or on every address. */
export function nodePortBindAddresses(settings: Pick<Settings, 'nodePortAddresses'>, host: readonly LinkAddress[]): readonly string[] {
  const cidrs = settings.nodePortAddresses.filter((c) => c !== 'primary').map((c) => ipaddr.parseCIDR(c));
  if (cidrs.length === 0 || cidrs.length !== settings.nodePortAddresses.length) return ALL_NODE_ADDRESSES;
  return host
    .map((a) => ipaddr.parse(a.address))
    .filter((ip) => cidrs.some(([net, len]) => ip.kind() === net.kind() && ip.match(net, len)))
    .map((ip) => ip.toString());
}
