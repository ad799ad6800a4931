// The reconciler: keeps the kernel's IPVS table and kube-ipvs0 equal to the desired state.
// start() reads the kernel once and adopts what is ours; sync() trusts the applied table and
// touches only changed keys; verify() reads the kernel again and repairs drift; drainCheck()
// finishes graceful termination; cleanup() removes everything owned and nothing else.
import { keyOf, realKey } from '../vocabulary/ipvs-keys.js';
import type { DesiredChange, DesiredState } from '../model/types.js';
import type { LinkAddress, LocalRoute } from '../vocabulary/addresses.js';
import type { LinkClient } from '../netif/types.js';
import { adoptKernel, type KernelRead } from './adoption.js';
import { codeOf, executePlan, type ExecuteOutcome, type NameOf } from './apply.js';
import { diffAddresses, diffVirtualServers, emptyPlan, planStages, type AddressPlan, type AppliedTable, type IpvsPlan, type PlannedOp } from './diff.js';
import { findDrift, TouchedKeys } from './check.js';
import { connectionsOf, DrainTracker, readDrainConnections, type DrainEntry } from './graceful.js';
import { adoptionContext, CidrSet, Ownership, recordedKeys, type AdoptionScope, type RecordedKeys } from './ownership.js';
import { planDrainDeletes, planPass, type PassClaims, type PassPlan } from './pass-plan.js';
import { RecordKeeper } from './record-keeper.js';
import { ClaimError } from './state-record.js';
import { type ChangedKeys, type IptablesSyncer, type ProxierDeps, type SyncResult } from './types.js';
import { VipLink, type AddressOutcome } from './vips.js';
import { absorb, guard, phaseTimer, tally, type PassTally } from './tally.js';
import { DUMMY_LINK_NAME } from '../config/defaults.js';
import { messageOf } from '../util/errors.js';

/**
 * How long check() decodes or compares before it lets the event loop run a sync. 500 entries at
 * a time held every change for about half a second under emulation.
 */
const CHECK_SLICE_MS = 5;

/** sync() or verify() before start(): ownership is unknown, so nothing may be written. */
export class ProxierNotStartedError extends Error {
  constructor(readonly method: string) {
    super(`Proxier.${method}() called before start(): the kernel has not been read yet`);
    this.name = 'ProxierNotStartedError';
  }
}

export class Proxier {
  private readonly applied: AppliedTable = new Map();
  private readonly vips: VipLink;
  private readonly ownership: Ownership;
  private readonly drains: DrainTracker;
  private readonly serviceCidrs: CidrSet;
  private retryServices = new Set<string>();
  private retryAddresses = new Set<string>();
  /** The first sync after start() diffs everything: the applied table was just read in full. */
  private fullNext = true;
  private readonly records: RecordKeeper;
  private lastState: DesiredState | undefined;
  private started = false;
  /** The last record write failed: the next pass writes it before any kernel write. */
  private recordBehind = false;
  /** While a background check reads and compares: the keys passes touch meanwhile. */
  private touched: TouchedKeys | undefined;
  /**
   * Real servers in the applied table, kept per pass from the keys a plan touched (undefined:
   * count again). Counting 100,000 of them after every endpoint change cost more than the change.
   */
  private realCount: number | undefined;

  constructor(private readonly deps: ProxierDeps) {
    // Mode both's fill runs on the reader's handle: a fill batch never holds a sync's writes behind it.
    const fill = { links: deps.reader?.links ?? deps.links, clock: deps.clock, pacing: deps.vipFill, onCaughtUp: deps.onVipAddressesCaughtUp };
    this.vips = new VipLink(deps.links, deps.linkName ?? DUMMY_LINK_NAME, deps.settings.vipMode ?? 'addresses', fill);
    this.ownership = new Ownership(new CidrSet(deps.settings.excludeCidrs));
    this.serviceCidrs = new CidrSet(deps.settings.serviceCidrs);
    this.drains = new DrainTracker(deps.settings.gracefulTerminationTimeoutMs);
    this.records = new RecordKeeper(deps.stateStore, undefined, deps.clock);
  }

  /** Read the kernel in full (one IPVS dump, one address dump), adopt what is ours, set node settings. */
  async start(state?: DesiredState): Promise<SyncResult> {
    const t = tally();
    const [entries, { addresses, ifindex, routes }, loaded] = await Promise.all([
      this.deps.ipvs.dump({ counters: false }),
      this.readLink(this.deps.links),
      this.deps.stateStore.load(),
    ]);
    if (loaded.corrupt) t.errors.push({ object: 'state record', operation: 'load', code: 'EBADMSG', message: `${loaded.corrupt}; rebuilt from the kernel` });
    this.records.reset(loaded.record);
    this.adopt('start', { entries, addresses, routes, ifindex }, recordedKeys(loaded.record), state, t);
    const t0 = this.deps.clock.now();
    // What was adopted is on disk before anything is written, node settings included.
    await this.claim(state, undefined);
    await this.applyNodeSettings(t);
    this.fullNext = true;
    this.started = true;
    this.lastState = state;
    return this.result(t, t0, this.deps.clock.now());
  }

  /** Incremental: only the changed keys (and those that failed before) are diffed and written. */
  async sync(change: DesiredChange): Promise<SyncResult> {
    if (!this.started) throw new ProxierNotStartedError('sync');
    if (this.fullNext) {
      this.fullNext = false;
      return this.pass(change.state, undefined, undefined, [], tally());
    }
    const vsKeys = new Set([...change.changedVirtualServers, ...this.retryServices]);
    const addrKeys = new Set([...change.changedAddresses, ...this.retryAddresses]);
    return this.pass(change.state, vsKeys, addrKeys, [], tally());
  }

  /** Full read and compare: repairs drift made by hand, finishes drains the dump shows idle. */
  async verify(state: DesiredState): Promise<SyncResult> {
    if (!this.started) throw new ProxierNotStartedError('verify');
    const t = tally();
    const [entries, { addresses, ifindex, routes }] = await Promise.all([this.deps.ipvs.dump(), this.readLink(this.deps.links)]);
    // Copies: adoption rebuilds the ownership sets these are views of.
    const recorded = { virtualServers: new Set(this.ownership.virtualServers), addresses: new Set(this.ownership.addresses) };
    this.adopt('running', { entries, addresses, routes, ifindex }, recorded, state, t);
    // The connection map covers every real server of the dump: built only when something drains.
    const conns = this.drains.size > 0 ? connectionsOf(entries) : new Map<string, number>();
    const due = this.drains.due(this.deps.clock.now(), (vsKey, rk) => conns.get(`${vsKey}|${rk}`));
    await this.applyNodeSettings(t);
    this.fullNext = false;
    return this.pass(state, undefined, undefined, due, t);
  }

  /**
   * The periodic verification without holding syncs: the kernel is read on the reader handles
   * while syncs go on and compared in slices with what was programmed, skipping keys that passes
   * touched meanwhile (check.ts). Node settings are put right as in verify(). The result's
   * `drift` says why a full verify() must follow; without it the kernel holds what was programmed.
   * `nodeAddresses` are every address of the host as the read found them, for the caller's other
   * use of them (NodePort targets): one check, one address dump.
   */
  async check(): Promise<SyncResult & { nodeAddresses: LinkAddress[] }> {
    if (!this.started) throw new ProxierNotStartedError('check');
    const t = tally();
    const t0 = this.deps.clock.now();
    const touched = new TouchedKeys();
    this.touched = touched;
    try {
      const reader = this.deps.reader ?? this.deps;
      const [entries, { addresses, ifindex, routes }] = await Promise.all([
        reader.ipvs.dump({ sliceMs: CHECK_SLICE_MS, counters: false }),
        this.readLink(reader.links),
      ]);
      const drift = await findDrift(
        { entries, addresses, routes, ifindex },
        {
          applied: this.applied,
          ownedVirtualServers: this.ownership.virtualServers,
          foreignVirtualServers: this.ownership.foreignVirtualServers,
          link: {
            ifindex: this.vips.ifindex,
            applied: this.vips.applied,
            routed: this.vips.routed,
            // While mode both fills addresses behind the read, which of them it shows is moot.
            bound: this.vips.fillPending ? undefined : this.vips.bound,
            onOtherLinks: this.vips.onOtherLinks,
            foreign: this.ownership.foreignAddresses,
          },
        },
        touched,
        CHECK_SLICE_MS,
      );
      await this.applyNodeSettings(t);
      return { ...this.result(t, t0, this.deps.clock.now()), ...(drift !== undefined ? { drift } : { fullCompare: true }), nodeAddresses: addresses };
    } finally {
      if (this.touched === touched) this.touched = undefined;
    }
  }

  /** Delete draining real servers whose connections reached 0 or whose time ran out. */
  async drainCheck(): Promise<SyncResult> {
    const t = tally();
    const t0 = this.deps.clock.now();
    if (this.drains.size === 0) return this.result(t, t0, t0);
    let conns: Map<string, number>;
    try {
      conns = await readDrainConnections(this.deps.ipvs, this.drains);
    } catch (err) {
      t.errors.push({ object: 'draining real servers', operation: 'dump', code: codeOf(err), message: messageOf(err) });
      t.needsVerification = true;
      return this.result(t, t0, this.deps.clock.now());
    }
    // A real server missing from the dump was deleted by someone else: due() forgets it.
    const due = this.drains.due(this.deps.clock.now(), (vsKey, rk) => conns.get(`${vsKey}|${rk}`));
    const plan = emptyPlan();
    const drainDeletes = planDrainDeletes(due, this.applied, this.lastState);
    for (const d of drainDeletes.stale) this.drains.cancel(d.vsKey, d.realKey);
    plan.deleteReals = drainDeletes.deleteReals;
    this.touched?.touch(
      plan.deleteReals.map((p) => p.vsKey),
      [],
    );
    const exec = await this.execute(plan, (k, rk) => this.nameOf(k, rk, this.lastState));
    for (const p of exec.succeeded) if (p.realKey) this.drains.cancel(p.vsKey, p.realKey);
    t.writes += exec.writes;
    t.errors.push(...exec.errors);
    t.needsVerification ||= exec.needsVerification;
    return this.result(t, t0, this.deps.clock.now());
  }

  /** Resolves once state record writes still running behind the passes have ended. */
  async settled(): Promise<void> {
    await this.records.idle();
  }

  /** When the runner should call drainCheck() next; undefined when nothing drains. */
  nextDrainCheckAt(): number | undefined {
    if (this.drains.size === 0) return undefined;
    const poll = this.deps.clock.now() + (this.deps.drainPollMs ?? 1000);
    return Math.min(poll, this.drains.nextDeadline() ?? poll);
  }

  /**
   * Remove every owned virtual server, kube-ipvs0 VIP (route or address) and (when empty) the
   * link, nothing else; without a record nothing (`noRecord`) unless `withoutRecord`.
   */
  async cleanup(opts: { withoutRecord?: boolean } = {}): Promise<SyncResult & { noRecord?: string }> {
    const t = tally();
    await this.vips.stopFill();
    const [entries, { addresses, ifindex, routes }, loaded] = await Promise.all([
      this.deps.ipvs.dump({ counters: false }),
      this.readLink(this.deps.links),
      this.deps.stateStore.load(),
    ]);
    if (loaded.record === undefined && opts.withoutRecord !== true) {
      const now = this.deps.clock.now();
      return { ...this.result(t, now, now), noRecord: loaded.corrupt ?? 'no state record' };
    }
    const fromRecord = recordedKeys(loaded.record);
    const known: RecordedKeys = {
      virtualServers: new Set([...this.ownership.virtualServers, ...fromRecord.virtualServers]),
      addresses: new Set([...this.ownership.addresses, ...fromRecord.addresses]),
    };
    this.records.reset(loaded.record);
    this.adopt('start', { entries, addresses, routes, ifindex }, known, undefined, t);
    const empty: DesiredState = { virtualServers: new Map(), addresses: new Map() };
    this.drains.forgetAll();
    const t0 = this.deps.clock.now();
    const plan = diffVirtualServers(empty.virtualServers, this.applied, {
      mayTouch: (k, s) => this.ownership.mayTouchService(k, s),
      isDraining: () => false,
      gracefulTcp: false,
    });
    // Deleting a virtual server deletes its real servers with it.
    plan.deleteReals = [];
    const exec = await this.execute(plan, (k) => this.nameOf(k, undefined, undefined));
    absorb(t, exec);
    this.ownership.release({ virtualServers: exec.succeeded.map((p) => p.vsKey) });
    const addrPlan = diffAddresses(empty.addresses, this.vips.applied, {
      mayTouch: (a) => this.ownership.mayTouchAddress(a),
      onOtherLinks: this.vips.onOtherLinks,
    });
    const unbound = await this.vips.unbind(addrPlan);
    absorb(t, unbound);
    this.ownership.release({ addresses: unbound.done });
    if (this.vips.ifindex !== undefined && this.vips.present.size === 0) {
      await guard(t, `link ${this.vips.name}`, 'delete link', async () => {
        t.writes += await this.vips.deleteLink();
      });
    }
    const iptables = this.deps.iptables;
    if (iptables?.cleanup) {
      const cleanupIptables = iptables.cleanup.bind(iptables);
      await guard(t, 'iptables rules', 'cleanup', async () => {
        t.writes += await cleanupIptables();
      });
    }
    const lastAck = this.deps.clock.now();
    await this.saveRecord(undefined, [], true, t);
    return this.result(t, t0, lastAck);
  }

  /** How an owned VIP is made local on kube-ipvs0 now (status, tests). */
  localBy(address: string): ReturnType<VipLink['localBy']> {
    return this.vips.localBy(address);
  }

  /** Resolves when mode both's background address fill has caught up (tests, shutdown). */
  async vipFillSettled(): Promise<void> {
    await this.vips.fillSettled();
  }

  /** Keys of the virtual servers and addresses currently owned (for status and tests). */
  owned(): { virtualServers: string[]; addresses: string[] } {
    return { virtualServers: [...this.ownership.virtualServers].sort(), addresses: [...this.ownership.addresses].sort() };
  }

  // ---- one pass: plan, claim, run ----

  private async pass(
    state: DesiredState,
    vsKeys: Set<string> | undefined,
    addrKeys: Set<string> | undefined,
    due: DrainEntry[],
    t: PassTally,
  ): Promise<SyncResult> {
    this.lastState = state;
    this.touched?.touch(vsKeys, addrKeys);
    const t0 = this.deps.clock.now();
    const phasesMs: Record<string, number> = {};
    t.phasesMs = phasesMs;
    const lap = phaseTimer(this.deps.clock, phasesMs);
    const plan = planPass({
      state,
      vsKeys,
      addrKeys,
      applied: this.applied,
      appliedAddresses: this.vips.applied,
      onOtherLinks: this.vips.onOtherLinks,
      ownership: this.ownership,
      isDraining: (k, rk) => this.drains.isDraining(k, rk),
      gracefulTcp: this.deps.settings.gracefulTerminationTimeoutMs > 0,
      due,
    });
    for (const d of plan.staleDrains) this.drains.cancel(d.vsKey, d.realKey);
    for (const key of plan.ipvs.blocked) {
      t.errors.push({
        object: this.nameOf(key, undefined, state),
        operation: 'addService',
        code: 'EEXIST',
        message: 'a virtual server this agent does not own (foreign or in --exclude-cidrs) holds this key; left alone',
      });
    }
    for (const a of plan.addresses.blocked) {
      t.errors.push({
        object: `address ${a} on ${this.vips.name}`,
        operation: 'address add',
        code: 'EEXIST',
        message: "address is not this agent's (foreign or in --exclude-cidrs); left alone",
      });
    }
    lap('diff');
    this.deps.onPassProgress?.(
      `programming: ${planStages(plan.ipvs).reduce((n, s) => n + s.length, 0)} IPVS operations planned, ${plan.addresses.add.length} addresses to bind, ${plan.addresses.remove.length} to unbind`,
    );
    // A full pass (the cold sync) claims keys without their pod names: the claim is what crash
    // safety needs, and the names of 100,000 real servers cost seconds to write before the first
    // kernel write. The pass's closing save, forced on full passes, adds them.
    await this.claimPass(plan.claims, vsKeys === undefined ? undefined : state);
    if (plan.addresses.add.length > 0 && this.vips.ifindex === undefined) {
      await guard(t, `link ${this.vips.name}`, 'create link', async () => {
        t.writes += await this.vips.ensure();
      });
    }
    lap('link and claim record');
    return this.runPass(plan, state, vsKeys, t, t0, lap);
  }

  /**
   * Claim before programming (a crash mid-sync leaves a record covering the kernel); a claim that
   * cannot be written releases its keys and stops the pass (ClaimError) before its first kernel write.
   */
  private async claimPass(claims: PassClaims, state: DesiredState | undefined): Promise<void> {
    if (claims.virtualServers.length === 0 && claims.addresses.length === 0 && !this.recordBehind) return;
    this.ownership.claim(claims);
    try {
      await this.claim(state, claims.virtualServers);
    } catch (err) {
      this.ownership.release(claims);
      throw err;
    }
  }

  /** The executor: runs a claimed plan against the kernel, then records what it did. */
  private async runPass(
    plan: PassPlan,
    state: DesiredState,
    vsKeys: Set<string> | undefined,
    t: PassTally,
    t0: number,
    lap: (phase: string) => void,
  ): Promise<SyncResult> {
    // IPVS, kube-ipvs0's addresses and iptables are independent kernel state behind different
    // locks (iptables partly in child processes): programmed side by side where order does not
    // matter. iptables starts after the claim: spawning its tools next to the claim's record
    // write made the claim three times slower in a cold sync.
    const clock = this.deps.clock;
    const progress = this.deps.onPassProgress;
    const phases = t.phasesMs ?? {};
    const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
      const start = clock.now();
      progress?.(`programming: ${phase} started`);
      try {
        return await fn();
      } finally {
        phases[phase] = clock.now() - start;
      }
    };
    const iptables = this.deps.iptables;
    // An iptables failure is reported and retried, and does not hold the virtual servers back.
    const binding = timed('bind addresses', () => this.bindVips(plan.addresses, vsKeys === undefined));
    const ipvs = (): Promise<ExecuteOutcome> => timed('ipvs', () => this.execute(plan.ipvs, (k, rk) => this.nameOf(k, rk, state)));
    const ipvsBeside = plan.iptables.first ? undefined : ipvs();
    const iptablesWroteAt =
      iptables && plan.iptables.sync ? timed('iptables', () => this.syncIptables(iptables, state, plan.iptables.changed, t)) : Promise.resolve(undefined);
    if (plan.iptables.first) await iptablesWroteAt;
    const [bound, exec] = await Promise.all([binding, ipvsBeside ?? ipvs()]);
    // Only once the virtual servers that used them are gone.
    const unbound = await timed('unbind addresses', () => this.vips.unbind(plan.addresses));
    absorb(t, bound);
    absorb(t, exec);
    absorb(t, unbound);
    await this.afterWrites(plan.ipvs, exec.succeeded, t);
    this.ownership.release({ addresses: unbound.done });
    this.retryServices = exec.failedKeys;
    this.retryAddresses = new Set([...bound.failed, ...unbound.failed]);
    // The change is in effect at the last write that changed something: an iptables sync that
    // found nothing to write only confirmed, and does not delay the programming latency.
    const ipvsDoneAt = clock.now();
    const iptablesAt = await iptablesWroteAt;
    const lastWrite = Math.max(ipvsDoneAt, iptablesAt ?? 0);
    lap('programming (overlapped)');
    const lastAck = clock.now();
    progress?.(`programming done (${t.writes} kernel writes); writing the state record`);
    await this.saveRecord(state, vsKeys, vsKeys === undefined, t);
    lap('record');
    const iptablesFailed = t.errors.some((e) => e.object === 'iptables rules');
    const pending = this.retryServices.size + this.retryAddresses.size + (iptablesFailed ? 1 : 0) + (this.recordBehind ? 1 : 0);
    return { ...this.result(t, t0, lastAck, lastWrite), pending, ...(vsKeys === undefined ? { fullCompare: true } : {}) };
  }

  /** One iptables sync; resolves to when it finished if it wrote anything. */
  private async syncIptables(iptables: IptablesSyncer, state: DesiredState, changed: ChangedKeys | undefined, t: PassTally): Promise<number | undefined> {
    let wrote = 0;
    await guard(t, 'iptables rules', 'sync', async () => {
      wrote = await iptables.sync(state, changed);
    });
    t.writes += wrote;
    return wrote > 0 ? this.deps.clock.now() : undefined;
  }

  /** Graceful-termination bookkeeping and conntrack flushes for what the kernel acknowledged. */
  private async afterWrites(plan: IpvsPlan, succeeded: readonly PlannedOp[], t: PassTally): Promise<void> {
    const now = this.deps.clock.now();
    const flushes: { protocol: 'UDP' | 'SCTP'; address: string; port: number; name: string }[] = [];
    const deleted: string[] = [];
    for (const p of succeeded) {
      const rk = p.realKey;
      if (p.op.op === 'deleteService') {
        this.drains.forgetService(p.vsKey);
        deleted.push(p.vsKey);
      } else if (rk && p.intent === 'drain') {
        const have = this.applied.get(p.vsKey);
        const real = have?.reals.get(rk);
        if (have && real) this.drains.start(p.vsKey, rk, keyOf(have.service), real, now);
      } else if (rk && (p.intent === 'restore' || p.op.op === 'deleteReal' || p.op.op === 'addReal')) {
        this.drains.cancel(p.vsKey, rk);
      }
      if (rk && p.op.op === 'deleteReal') {
        const svc = this.applied.get(p.vsKey)?.service;
        if (svc?.protocol === 'UDP' || svc?.protocol === 'SCTP') {
          const [address, port] = splitRealKey(rk);
          flushes.push({ protocol: svc.protocol, address, port, name: this.nameOf(p.vsKey, rk, this.lastState) });
        }
      }
    }
    for (const d of plan.drainWithoutWrite) {
      const have = this.applied.get(d.vsKey);
      const real = have?.reals.get(d.realKey);
      if (have && real) this.drains.start(d.vsKey, d.realKey, keyOf(have.service), real, now);
    }
    for (const c of plan.cancelDrains) this.drains.cancel(c.vsKey, c.realKey);
    this.ownership.release({ virtualServers: deleted });
    await Promise.all(
      flushes.map((f) =>
        guard(t, f.name, 'conntrack flush', async () => {
          t.writes += await this.deps.conntrack.flush({ protocol: f.protocol, address: f.address, port: f.port });
        }),
      ),
    );
  }

  /** The plan's VIPs; a full pass also brings every owned VIP to the mode's form (vips.ts converge). */
  private async bindVips(addrPlan: AddressPlan, full: boolean): Promise<AddressOutcome> {
    const bound = await this.vips.bind(addrPlan);
    const c = full ? await this.vips.converge() : undefined;
    return c
      ? { ...bound, writes: bound.writes + c.writes, errors: [...bound.errors, ...c.errors], needsVerification: bound.needsVerification || c.needsVerification }
      : bound;
  }

  /** kube-ipvs0 as one read: every address of the host, the link's index and its local routes. */
  private async readLink(links: LinkClient): Promise<{ addresses: LinkAddress[]; ifindex: number | undefined; routes: LocalRoute[] }> {
    const [addresses, ifindex] = await Promise.all([links.listAddresses(), links.linkIndex(this.vips.name)]);
    const routes = ifindex === undefined ? [] : await links.listLocalRoutes(ifindex);
    return { addresses, ifindex, routes };
  }

  // ---- adoption ----

  private adopt(scope: AdoptionScope, read: KernelRead, recorded: RecordedKeys, desired: DesiredState | undefined, t: PassTally): void {
    this.touched?.touch(undefined, undefined);
    this.realCount = undefined;
    const ctx = adoptionContext(scope, {
      recorded,
      desired,
      serviceCidrs: this.serviceCidrs,
      excludeCidrs: this.ownership.exclude,
      nodePortRange: this.deps.settings.nodePortRange,
      hostAddresses: read.addresses,
      ifindex: read.ifindex,
    });
    for (const n of adoptKernel(read, ctx, { applied: this.applied, ownership: this.ownership, vips: this.vips })) {
      if (this.ownership.firstReport(n.kind, n.key)) t.foreign.push({ kind: n.kind, key: n.key, reason: n.verdict });
    }
  }

  // ---- node settings, record, names, results ----

  private async applyNodeSettings(t: PassTally): Promise<void> {
    await guard(t, 'node settings', 'sysctl', async () => {
      const r = await this.deps.sysctl.apply();
      t.writes += r.writes;
      t.errors.push(...r.errors);
    });
    const { tcpTimeout: tcp, tcpFinTimeout: tcpFin, udpTimeout: udp } = this.deps.settings;
    if (tcp === 0 && tcpFin === 0 && udp === 0) return;
    await guard(t, 'IPVS timeouts', 'set timeouts', async () => {
      const now = await this.deps.ipvs.getTimeouts();
      const differs = (want: number, have: number): boolean => want !== 0 && want !== have;
      if (differs(tcp, now.tcp) || differs(tcpFin, now.tcpFin) || differs(udp, now.udp)) {
        await this.deps.ipvs.setTimeouts({ tcp, tcpFin, udp });
        t.writes += 1;
      }
    });
  }

  private async saveRecord(state: DesiredState | undefined, keys: Iterable<string> | undefined, force: boolean, t: PassTally): Promise<void> {
    await guard(t, 'state record', 'save', async () => {
      await this.records.save(this.ownership.virtualServers, this.ownership.addresses, state, keys, this.deps.clock.now(), force);
      this.recordBehind = false;
    });
    if (t.errors.at(-1)?.object === 'state record') this.recordBehind = true;
  }

  /** Write the record with the owned sets as they stand; throws ClaimError when it cannot. */
  private async claim(state: DesiredState | undefined, keys: Iterable<string> | undefined): Promise<void> {
    try {
      await this.records.save(this.ownership.virtualServers, this.ownership.addresses, state, keys, this.deps.clock.now(), true);
      this.recordBehind = false;
    } catch (err) {
      this.recordBehind = true;
      throw new ClaimError(messageOf(err), codeOf(err));
    }
  }

  private nameOf(vsKey: string, rk: string | undefined, state: DesiredState | undefined): string {
    const want = state?.virtualServers.get(vsKey);
    const owner = want?.owner ?? this.records.entry(vsKey)?.owner;
    const vs = owner ? `virtual server ${owner.namespace}/${owner.name}:${owner.portName || owner.kind} ${vsKey}` : `virtual server ${vsKey}`;
    if (rk === undefined) return vs;
    const pod = want?.reals.find((r) => realKey(r) === rk)?.pod;
    return `real server ${rk}${pod ? ` (pod ${pod.namespace}/${pod.name})` : ''} of ${vs}`;
  }

  /** Run a plan, keeping the real-server count in step with what it changed. */
  private async execute(plan: IpvsPlan, nameOf: NameOf): Promise<ExecuteOutcome> {
    const keys = new Set<string>();
    for (const stage of planStages(plan)) for (const p of stage) keys.add(p.vsKey);
    const before = this.countReals(keys);
    try {
      const progress = this.deps.onPassProgress;
      return await executePlan(this.deps.ipvs, plan, this.applied, nameOf, progress && ((stage) => progress(`programming: ${stage}`)));
    } finally {
      if (this.realCount !== undefined) this.realCount += this.countReals(keys) - before;
    }
  }

  /** Real servers of `keys`, or of the whole applied table. */
  private countReals(keys?: Iterable<string>): number {
    let n = 0;
    if (keys === undefined) for (const v of this.applied.values()) n += v.reals.size;
    else for (const k of keys) n += this.applied.get(k)?.reals.size ?? 0;
    return n;
  }

  private result(t: PassTally, t0: number, lastAck: number, lastWrite = lastAck): SyncResult {
    this.realCount ??= this.countReals();
    return {
      virtualServers: this.applied.size,
      realServers: this.realCount,
      addresses: this.vips.applied.size,
      kernelWrites: t.writes,
      durationMs: Math.max(0, lastAck - t0),
      programmedMs: Math.max(0, Math.min(lastWrite, lastAck) - t0),
      ...(t.phasesMs ? { phasesMs: t.phasesMs } : {}),
      errors: t.errors,
      needsVerification: t.needsVerification,
      foreign: t.foreign,
    };
  }
}

/** "10.244.1.7/9376" or "fd00::7/9376" -> address and port. */
function splitRealKey(rk: string): [string, number] {
  const i = rk.lastIndexOf('/');
  return [rk.slice(0, i), Number(rk.slice(i + 1))];
}
