// The agent: sources feed the model, the runner asks the proxier to make the kernel match, and
// health, metrics, events and the fleet view hear about each pass. Everything impure comes in
// through AgentDeps, so the whole loop runs against fakes in unit tests.
import type { Settings } from '../config/settings.js';
import type { EventSink } from '../k8s/events.js';
import type { ServiceSource, SourceEvent } from '../vocabulary/source.js';
import type { DesiredChange, ModelWarning } from '../model/types.js';
import type { LinkAddress } from '../vocabulary/addresses.js';
import type { LinkClient } from '../netif/types.js';
import type { Logger } from '../ops/logger.js';
import type { HealthState } from '../ops/health.js';
import type { ProxyMetrics } from '../ops/metrics.js';
import { Proxier } from '../proxier/proxier.js';
import { SyncRunner, type PassKind } from '../proxier/runner.js';
import type { Clock, IptablesSyncer, ProxierDeps, SyncResult } from '../proxier/types.js';
import { ServiceModel } from '../model/service-model.js';
import type { FleetPublisher } from '../fleet/publisher.js';
import { NodeIndependentDigester } from '../fleet/digest.js';
import type { HealthCheckNodePorts } from '../ops/healthcheck-nodeports.js';
import { HealthCheckIndex } from './healthchecks.js';
import { modelConfigFrom } from './model-config.js';
import { FirstSyncProgress } from './progress.js';

export interface AgentDeps extends Omit<ProxierDeps, 'settings' | 'iptables'> {
  settings: Settings;
  /** The iptables side; checked beside the syncs and re-read in full by a verification when it can. */
  iptables?: IptablesSyncer;
  source: ServiceSource;
  links: LinkClient;
  logger: Logger;
  events: EventSink;
  clock: Clock;
  metrics?: ProxyMetrics;
  health?: HealthState;
  fleet?: FleetPublisher;
  healthChecks?: HealthCheckNodePorts;
  /** How long to wait for the first full list of Services and EndpointSlices. */
  syncTimeoutMs?: number;
  /**
   * How long a source that yields nothing while this agent owns objects is distrusted before it
   * is believed (default 30 s, the API-server path's confirmation of an empty relist).
   */
  emptySourceConfirmMs?: number;
  /**
   * After SIGTERM, how long health check node ports (and /healthz) keep answering 503 before they
   * close, so that load balancers see the node drain instead of a refused connection (default 0).
   */
  shutdownGraceMs?: number;
  /** Interval of the progress lines while the first sync runs (default 5 s; 0: none). */
  progressIntervalMs?: number;
  /**
   * Gives memory freed by the kernel clients back to the system; called after a pass that read
   * the whole table or wrote a large batch (the native addon's malloc_trim).
   */
  releaseFreeMemory?: () => void;
}

/** Kernel writes above which a pass counts as large (a first sync, a mass change). */
const LARGE_PASS_WRITES = 1000;

export interface OnceResult {
  start: SyncResult;
  sync: SyncResult;
  change: DesiredChange;
  /**
   * Where the time before the sync went, in ms: the sources' list or read and parse up to synced
   * (with the model's apply of each batch inside it, also given alone), the kernel read, and the
   * desired state's computation.
   */
  phasesMs: { sources: number; modelApply: number; kernelRead: number; desiredState: number };
}

/** The same delay the API-server path waits before it believes an empty relist (src/k8s). */
const EMPTY_SOURCE_CONFIRM_MS = 30_000;

/** The source yields nothing while the agent owns objects: the kernel was left as it is. */
export class EmptySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmptySourceError';
  }
}

/** A warning is logged (and sent as an Event) once per distinct text, not once per sync. */
const MAX_REMEMBERED_WARNINGS = 10_000;

export class Agent {
  readonly model: ServiceModel;
  readonly proxier: Proxier;
  /** Created by run() once the kernel was read; once() needs none. */
  private runner: SyncRunner | undefined;
  /** Texts of the warnings already logged (and sent as Events), so each is reported once. */
  private readonly warned = new Set<string>();
  /** Which Services want a health check node port, from the source's events. */
  private readonly healthCheckIndex: HealthCheckIndex;
  private readonly digester = new NodeIndependentDigester();
  private readonly progress: FirstSyncProgress;
  private stopping = false;
  /** Why the runner has not started: the source yields nothing while owned objects exist. */
  private hold: string | undefined;
  /** The timer that reads the source again while held (a Clock timer handle). */
  private holdTimer: unknown;
  /** Time spent in the model's apply of source events, for the start's phases. */
  private modelApplyMs = 0;
  /** Time spent computing the desired state before the start's adoption, for the start's phases. */
  private desiredStateMs = 0;
  /** The node's addresses as last handed to the model (sorted "ifindex address/prefix" list), to see a change. */
  private nodeAddressesKey: string | undefined;
  /** Trigger times of the changes taken since the last pass reported, for the network programming latency. */
  private pendingTriggers: number[] = [];
  /** Wall clock at the start of the running pass's diff, for the network programming latency. */
  private passStartedAt: number | undefined;

  constructor(private readonly deps: AgentDeps) {
    const s = deps.settings;
    this.model = new ServiceModel(modelConfigFrom(s));
    this.healthCheckIndex = new HealthCheckIndex(s.nodeName);
    this.progress = new FirstSyncProgress(deps.logger, deps.progressIntervalMs, deps.clock);
    this.proxier = new Proxier({
      ...deps,
      settings: s,
      onPassProgress: (stage) => {
        if (this.progress.running) this.progress.at(stage);
      },
      onVipAddressesCaughtUp: (r) =>
        deps.logger.info(
          `vip mode both: addresses on kube-ipvs0 caught up with the VIPs (${r.added} added in ${Math.round(r.durationMs)} ms${r.errors.length > 0 ? `, ${r.errors.length} failed: ${r.errors[0].message}` : ''})`,
          { op: 'vips' },
        ),
    });
    deps.health?.addCheck('source', () => this.hold ?? deps.source.problem?.());
  }

  /**
   * Wait for the sources, read the kernel, and program everything in one pass. A source that
   * yields nothing while this agent owns objects throws EmptySourceError and writes nothing: a
   * single run has no later read to confirm it by (`cleanup` removes everything on purpose).
   */
  async once(): Promise<OnceResult> {
    const now = (): number => this.deps.clock.now();
    const t0 = now();
    await this.startSources();
    const t1 = now();
    const start = await this.readKernel();
    // Logged as in run(): each pass's line counts the kernel writes that pass made.
    this.reportStart(start);
    const t2 = now();
    const empty = this.emptySource();
    if (empty !== undefined) throw new EmptySourceError(`${empty}; the kernel is left as it is`);
    const change = this.takeChanges();
    const t3 = now();
    const sync = await this.proxier.sync(change);
    // Mode both: a single run leaves every VIP bound as an address too, as the mode promises.
    await this.proxier.vipFillSettled();
    this.progress.done();
    this.report('sync', sync);
    return {
      start,
      sync,
      change,
      phasesMs: { sources: t1 - t0, modelApply: this.modelApplyMs, kernelRead: t2 - t1 - this.desiredStateMs, desiredState: this.desiredStateMs + (t3 - t2) },
    };
  }

  /** The long-running loop: returns once the first sync is done; stop() ends it. */
  async run(): Promise<void> {
    const { settings, clock, logger } = this.deps;
    await this.startSources();
    const start = await this.readKernel();
    this.reportStart(start);
    this.runner = new SyncRunner(
      {
        sync: () => {
          this.deps.health?.syncStarted();
          const change = this.takeChanges();
          this.passStartedAt = this.deps.clock.wall();
          return this.proxier.sync(change);
        },
        verify: async () => {
          await this.refreshNodeAddresses();
          this.deps.health?.syncStarted();
          this.deps.iptables?.requestVerification?.();
          const change = this.takeChanges();
          this.passStartedAt = this.deps.clock.wall();
          return this.proxier.verify(change.state);
        },
        drainCheck: () => this.proxier.drainCheck(),
        nextDrainCheckAt: () => this.proxier.nextDrainCheckAt(),
        check: async () => {
          // The proxier's check is called first, in the runner's turn between passes: from that
          // moment it tracks what passes touch. Node addresses (NodePort targets) and iptables
          // are verified at the same cadence, the addresses from the check's own read; their
          // repairs ride on the next sync. A failed iptables read is doubt: verify it.
          const ipvsCheck = this.proxier.check();
          const iptables = this.deps.iptables;
          const iptablesCheck = iptables === undefined ? true : iptables.check ? iptables.check().catch(() => false) : false;
          const [r, iptablesHolds] = await Promise.all([ipvsCheck, iptablesCheck]);
          const addressesChanged = this.takeNodeAddresses(r.nodeAddresses);
          if (!iptablesHolds) iptables?.requestVerification?.();
          // The model takes new node addresses (NodePort virtual servers) at the next sync.
          if (addressesChanged || !iptablesHolds) this.runner?.request();
          return r;
        },
      },
      {
        clock,
        minIntervalMs: settings.minSyncPeriodMs,
        verifyIntervalMs: settings.syncPeriodMs,
        // A first pass over a large cluster on a slow node can take minutes; still bounded.
        deadlineMs: Math.max(600_000, 2 * settings.syncPeriodMs),
        onResult: (kind, result) => this.report(kind, result),
        onError: (kind, err) => {
          this.deps.metrics?.syncFailed();
          if (kind === 'sync' || kind === 'verify') this.deps.health?.failed();
          // The error's class and errno code say what kind of failure it was (a netlink
          // timeout, lost replies, a closed handle), which the message alone may not.
          const code = (err as { code?: unknown }).code;
          logger.error(`${kind === 'check' ? 'check' : `${kind} pass`} failed: ${err.message}`, {
            op: kind,
            error: err.name,
            ...(typeof code === 'string' ? { code } : {}),
          });
        },
      },
    );
    const empty = this.emptySource();
    if (empty !== undefined) {
      // A typo'd path or an emptied directory must not delete every Service the node serves.
      const confirmMs = this.deps.emptySourceConfirmMs ?? EMPTY_SOURCE_CONFIRM_MS;
      this.hold = `${empty}; the kernel is left as it is until the source is read again in ${confirmMs / 1000} s`;
      logger.error(this.hold, { op: 'start' });
      this.holdTimer = clock.setTimeout(() => void this.confirmEmpty(), confirmMs);
      return;
    }
    this.startRunner();
  }

  private startRunner(): void {
    this.hold = undefined;
    if (this.holdTimer !== undefined) this.deps.clock.clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.stopping || this.runner === undefined) return;
    this.runner.start();
    this.runner.request();
    this.deps.logger.info('agent running', { node: this.deps.settings.nodeName });
  }

  /** The confirmation delay passed: read the source again; still nothing means nothing. */
  private async confirmEmpty(): Promise<void> {
    this.holdTimer = undefined;
    if (this.stopping) return;
    try {
      await this.deps.source.reload?.();
    } catch (err) {
      this.deps.logger.warn(`reading the source again failed: ${(err as Error).message}`);
    }
    if (this.stopping || this.hold === undefined) return;
    this.takeChanges();
    const empty = this.emptySource();
    if (empty !== undefined) {
      const owned = this.proxier.owned();
      this.deps.logger.warn(
        `${empty}, still after ${(this.deps.emptySourceConfirmMs ?? EMPTY_SOURCE_CONFIRM_MS) / 1000} s: believing it; deleting ${owned.virtualServers.length} virtual servers and ${owned.addresses.length} addresses`,
        { op: 'start', virtualServers: owned.virtualServers.length, addresses: owned.addresses.length },
      );
    }
    this.startRunner();
  }

  /** Why the desired state is empty while this agent owns objects in the kernel; else undefined. */
  private emptySource(): string | undefined {
    const state = this.model.state();
    if (state.virtualServers.size > 0 || state.addresses.size > 0) return undefined;
    const owned = this.proxier.owned();
    if (owned.virtualServers.length === 0 && owned.addresses.length === 0) return undefined;
    const manifests = this.deps.settings.manifests;
    const why =
      this.deps.source.problem?.() ?? `${manifests !== undefined ? `manifests: ${manifests}` : 'the API server'} lists no Service that needs a virtual server`;
    return `the source yields nothing (${why}) while this agent owns ${owned.virtualServers.length} virtual servers and ${owned.addresses.length} addresses`;
  }

  /** Stop the watches, let the running pass finish, leave the kernel as it is. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.progress.done();
    this.deps.health?.shuttingDown();
    if (this.holdTimer !== undefined) this.deps.clock.clearTimeout(this.holdTimer);
    await this.deps.source.stop();
    if (this.runner) await this.runner.stop();
    // A names-only record write may still run behind the last pass: let it land before exit.
    await this.proxier.settled();
    this.deps.fleet?.close();
    const graceMs = this.deps.shutdownGraceMs ?? 0;
    if (graceMs > 0) await new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, graceMs));
    await this.deps.healthChecks?.close();
    await this.deps.events.flush();
  }

  private async startSources(): Promise<void> {
    const { source, logger } = this.deps;
    this.progress.begin();
    // The iptables tools' detection runs beside the first read of the sources, off the path from
    // the sources' list to the first kernel write; the first sync waits for it if still running.
    void this.deps.iptables?.prepare?.();
    source.start({
      onEvents: (events) => this.onEvents(events),
      onWarning: (message, detail) => logger.warn(message, detail),
      onProgress: (reading) => {
        if (this.progress.running) this.progress.at(`reading: ${reading}`);
      },
    });
    const timeoutMs = this.deps.syncTimeoutMs ?? 120_000;
    logger.info('waiting for the first full list of Services and EndpointSlices', { timeoutMs });
    await source.synced(timeoutMs);
    this.progress.at("first list complete; reading the node's addresses");
    await this.refreshNodeAddresses();
  }

  /** One dump of IPVS and addresses; adopt what is ours; node settings. */
  private async readKernel(): Promise<SyncResult> {
    // Taken first: the desired state stays empty until a take, and adoption compares with it.
    const taken = this.deps.clock.now();
    const change = this.takeChanges();
    this.desiredStateMs = this.deps.clock.now() - taken;
    this.progress.at('reading the kernel: the IPVS table, addresses and the state record');
    const start = await this.proxier.start(change.state);
    for (const f of start.foreign) {
      this.deps.logger.info(`leaving ${f.kind} ${f.key} alone: ${f.reason === 'excluded' ? 'inside --exclude-cidrs' : 'not created by ipvs-proxy'}`, {
        op: 'adopt',
      });
    }
    return start;
  }

  private onEvents(events: SourceEvent[]): void {
    if (this.progress.running) this.progress.countRead(events.length);
    const applyStart = this.deps.clock.now();
    this.model.apply(events);
    this.modelApplyMs += this.deps.clock.now() - applyStart;
    this.healthCheckIndex.apply(events);
    const now = this.deps.clock.wall();
    this.deps.health?.queued();
    this.deps.metrics?.syncQueued(now);
    const pending = this.model.pendingChanges();
    this.deps.metrics?.setPending(pending.services, pending.endpointSlices);
    // Held because the source yielded nothing: it yields something now. (The desired state is
    // as of the last take; the first pass after a hold diffs everything whatever is taken here.)
    if (this.hold !== undefined && (this.takeChanges(), this.emptySource() === undefined)) {
      this.deps.logger.info('the source yields services again; programming', { op: 'start' });
      this.startRunner();
    }
    this.runner?.request();
  }

  /** Resolves true when the node's addresses differ from the last read. */
  private async refreshNodeAddresses(): Promise<boolean> {
    // On the reader handle when there is one: a dump of 10,000 VIPs holds its handle a while.
    return this.takeNodeAddresses(await (this.deps.reader ?? this.deps).links.listAddresses());
  }

  /** Hands the node's addresses to the model; true when they differ from the last ones. */
  private takeNodeAddresses(addresses: LinkAddress[]): boolean {
    const key = addresses
      .map((a) => `${a.ifindex} ${a.address}/${a.prefixLen}`)
      .sort()
      .join(',');
    this.model.setNodeAddresses(addresses);
    const changed = key !== this.nodeAddressesKey;
    this.nodeAddressesKey = key;
    return changed;
  }

  private takeChanges(): DesiredChange {
    if (this.progress.running) this.progress.at('computing the desired state');
    const change = this.model.takeChanges();
    if (this.progress.running) this.progress.computed(change.state.virtualServers.size, change.state.addresses.size);
    this.reportWarnings(this.model.warnings());
    const { metrics } = this.deps;
    if (metrics) {
      const services = change.changedServices.size;
      metrics.countChanges(services, change.changedVirtualServers.size);
      const pending = this.model.pendingChanges();
      metrics.setPending(pending.services, pending.endpointSlices);
      const counts = this.model.noLocalEndpoints();
      metrics.setNoLocalEndpoints('external', counts.External);
      metrics.setNoLocalEndpoints('internal', counts.Internal);
    }
    this.pendingTriggers.push(...change.triggerTimes);
    return change;
  }

  private reportWarnings(warnings: readonly ModelWarning[]): void {
    for (const w of warnings) {
      const text = `${w.object}: ${w.field}: ${w.message}`;
      if (this.warned.has(text)) continue;
      if (this.warned.size >= MAX_REMEMBERED_WARNINGS) this.warned.clear();
      this.warned.add(text);
      this.deps.logger.warn(text, { object: w.object, field: w.field });
      // An Event goes to the Service the warning names; one without a name has nothing to attach it to.
      const { kind, namespace, name } = w.ref;
      if (kind === 'Service' && name !== '') this.deps.events.warn({ kind, namespace, name }, 'IpvsProxyInvalidSpec', `${w.field}: ${w.message}`);
    }
  }

  /**
   * The start pass read the kernel and adopted what is ours; it programmed nothing of the desired
   * state. Logged and counted, but health and the fleet view hear only of passes that programmed:
   * reported as a sync, it made /healthz and the fleet view call a node synced, with the desired
   * state's digest, while its first sync was still writing the kernel.
   */
  private reportStart(r: SyncResult): void {
    const { logger, metrics } = this.deps;
    this.reportErrors(r);
    const level = r.kernelWrites > 0 ? 'info' : 'debug';
    logger[level](
      `start: found ${r.virtualServers} virtual servers, ${r.realServers} real servers, ${r.addresses} addresses of ours; ${r.kernelWrites} kernel writes, ${r.durationMs.toFixed(1)} ms`,
      { op: 'start' },
    );
    metrics?.kernelWritten('start', r.kernelWrites);
  }

  /** Each failed kernel write: logged with its object, counted by operation and code. */
  private reportErrors(r: SyncResult): void {
    for (const e of r.errors) {
      this.deps.logger.error(`${e.operation} ${e.object}: ${e.message}`, { op: e.operation, code: e.code, object: e.object });
      this.deps.metrics?.kernelWriteFailed(e.operation, e.code);
    }
  }

  /**
   * A background check ran beside the passes. Drift is logged here; the verification pass that
   * follows reports the repair like any pass. A clean check is announced to health and the fleet
   * view (the periodic heartbeat an idle node publishes) only when no pass is under way or
   * pending: otherwise a sync may be half-way, and that sync announces itself when it ends.
   */
  private reportCheck(r: SyncResult): void {
    const seen = `check: ${r.virtualServers} virtual servers, ${r.realServers} real servers, ${r.addresses} addresses, ${r.kernelWrites} kernel writes, ${r.durationMs.toFixed(1)} ms`;
    if (r.drift !== undefined) this.deps.logger.info(`${seen}; drift: ${r.drift}; a full verification follows`, { op: 'check', drift: r.drift });
    else this.deps.logger.debug(`${seen}; the kernel holds what was programmed`, { op: 'check' });
    this.deps.metrics?.kernelWritten('check', r.kernelWrites);
    if (r.drift === undefined && !r.needsVerification && this.runner?.quiet()) this.announce('check', r, this.deps.clock.wall(), []);
  }

  /** Logs, metrics, health, health check node ports and the fleet hear about every pass. */
  private report(kind: PassKind, r: SyncResult): void {
    const { logger, metrics } = this.deps;
    // Checks and verifications read the whole table; the other passes only write what changed.
    if (kind === 'check' || kind === 'verify' || r.kernelWrites >= LARGE_PASS_WRITES) this.deps.releaseFreeMemory?.();
    this.reportErrors(r);
    if (kind === 'check') {
      this.reportCheck(r);
      return;
    }
    // The first pass that programmed ends the first sync's progress lines.
    if (kind === 'sync' || kind === 'verify') this.progress.done();
    const level = r.kernelWrites > 0 ? 'info' : 'debug';
    logger[level](
      `${kind}: ${r.virtualServers} virtual servers, ${r.realServers} real servers, ${r.addresses} addresses, ${r.kernelWrites} kernel writes, ${r.durationMs.toFixed(1)} ms`,
      { op: kind },
    );
    if (r.phasesMs)
      logger.debug(
        `${kind} phases: ${Object.entries(r.phasesMs)
          .map(([p, ms]) => `${p} ${ms.toFixed(1)} ms`)
          .join(', ')}`,
        { op: kind, phasesMs: r.phasesMs },
      );
    const now = this.deps.clock.wall();
    // The change reached the kernel at the acknowledgement of the last write that changed it
    // (programmedMs), not when the rest of the pass (record, a confirming iptables check)
    // finished: that is the SLI's end point.
    const ackAt = this.passStartedAt !== undefined ? Math.min(now, this.passStartedAt + r.programmedMs) : now;
    this.passStartedAt = undefined;
    const latencies = this.pendingTriggers.filter((t) => t > 0).map((t) => Math.max(0, ackAt - t));
    this.pendingTriggers = [];
    if (metrics) {
      metrics.syncCompleted(r.durationMs / 1000, now);
      metrics.kernelWritten(kind, r.kernelWrites);
      for (const ms of latencies) metrics.networkProgrammed(ms / 1000);
    }
    this.announce(kind, r, now, latencies);
  }

  /** Health, health check node ports and the fleet view hear of a pass, or of a clean check on a quiet node. */
  private announce(kind: PassKind, r: SyncResult, now: number, latencies: number[]): void {
    const { logger, health, fleet } = this.deps;
    if (health) {
      // A pass applied its change unless writes are left pending (per-object errors of objects
      // left alone by rule, or node settings in check mode, are not the change failing).
      if (kind !== 'sync' && kind !== 'verify') health.heartbeat();
      else if ((r.pending ?? 0) > 0) health.failed();
      else health.synced();
      health.nodeEligible(this.model.nodeEligible());
    }
    if (this.deps.healthChecks) {
      this.deps.healthChecks
        .update(this.healthCheckIndex.targets(this.model.state()))
        .then((warnings) => {
          for (const w of warnings) {
            const text = `health check node port ${w.port} for ${w.namespace}/${w.name}: ${w.message}`;
            if (this.warned.has(text)) continue;
            this.warned.add(text);
            logger.warn(text, { service: `${w.namespace}/${w.name}` });
            this.deps.events.warn({ kind: 'Service', namespace: w.namespace, name: w.name }, 'HealthCheckPortUnavailable', w.message);
          }
        })
        .catch((err: Error) => logger.error(`health check node ports: ${err.message}`));
    }
    if (fleet) {
      const state = this.model.state();
      fleet.publish({
        at: now,
        durationMs: r.durationMs,
        ok: r.errors.length === 0,
        error: r.errors[0] ? `${r.errors[0].object}: ${r.errors[0].message}` : undefined,
        healthy: health ? health.snapshot().healthy : true,
        counts: { virtualServers: r.virtualServers, realServers: r.realServers, addresses: r.addresses },
        digest: this.digester.digest(state),
        resourceVersions: this.deps.source.resourceVersions(),
        driftFound: kind === 'verify' ? r.kernelWrites : kind === 'check' ? 0 : undefined,
        networkProgrammingMs: latencies,
      });
    }
  }
}
