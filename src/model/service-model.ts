// The incremental model: sources feed events, a sync takes the changes. Only services whose
// inputs changed are recomputed; the merged desired state is patched in place.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { SourceEvent } from '../vocabulary/source.js';
import type { LinkAddress } from '../vocabulary/addresses.js';
import type { DesiredChange, DesiredState, ModelWarning, VipAddress } from './types.js';
import { ChangeTracker } from './change-tracker.js';
import { resolveConfig, type ModelConfig, type ResolvedConfig } from './config.js';
import { computeService, type NodeContext, type ServiceResult } from './compute.js';
import { MergedState, mergeAll } from './merge.js';
import { addressesOnOtherLinks, nodeInfoOf, sameAddressList, selectNodePortAddresses, UNKNOWN_NODE, type NodeInfo } from './node.js';
import { ownerId, serviceFingerprint, sliceFingerprint, sliceOwner, timestampMs, TRIGGER_TIME_ANNOTATION, warningOn } from './objects.js';

export interface NoLocalEndpoints {
  /** Services with externalTrafficPolicy Local, endpoints elsewhere and none here. */
  External: number;
  /** Services with internalTrafficPolicy Local, endpoints elsewhere and none here. */
  Internal: number;
}

export class ServiceModel {
  private readonly config: ResolvedConfig;
  private readonly services = new ChangeTracker<V1Service>(serviceFingerprint);
  private readonly slices = new ChangeTracker<V1EndpointSlice>(sliceFingerprint);
  /** Committed slices by owning service ("ns/name") and slice id. */
  private readonly slicesByService = new Map<string, Map<string, V1EndpointSlice>>();
  private readonly results = new Map<string, ServiceResult>();
  private readonly merged = new MergedState();
  private readonly zoneDependent = new Set<string>();
  private readonly nodePortServices = new Set<string>();
  /** Services with externalIPs or LB IPs, by each such address. */
  private readonly externalUsers = new Map<string, Set<string>>();
  private readonly noLocalExternal = new Set<string>();
  private readonly noLocalInternal = new Set<string>();

  private node: V1Node | undefined;
  private nodeInfo: NodeInfo = UNKNOWN_NODE;
  private nodePending = false;
  private linkAddresses: readonly LinkAddress[] = [];
  private linksPending = false;
  private context: NodeContext = { zone: '', nodePortAddresses: [], localAddresses: new Set() };

  private pendingWarnings: ModelWarning[] = [];
  private lastWarnings: ModelWarning[] = [];
  private lastRecomputed: ReadonlySet<string> = new Set();
  private totalRecomputed = 0;

  /** Throws ModelConfigError when the configuration is invalid. */
  constructor(config: ModelConfig) {
    this.config = resolveConfig(config);
  }

  /** Records changes; nothing is computed until takeChanges(). Never throws on bad objects. */
  apply(events: readonly SourceEvent[]): void {
    for (const e of events) {
      if (e.kind === 'Service') {
        if (e.type === 'delete') this.services.delete(ownerId(e.namespace, e.name));
        else if (this.named(e.object, 'Service')) {
          this.services.upsert(ownerId(e.object.metadata?.namespace ?? '', e.object.metadata?.name ?? ''), e.object);
        }
      } else if (e.kind === 'EndpointSlice') {
        if (e.type === 'delete') this.slices.delete(ownerId(e.namespace, e.name));
        else if (this.named(e.object, 'EndpointSlice')) {
          this.slices.upsert(ownerId(e.object.metadata?.namespace ?? '', e.object.metadata?.name ?? ''), e.object);
        }
      } else if (e.type === 'delete') {
        if (e.name === this.config.nodeName && this.node) {
          this.node = undefined;
          this.nodePending = true;
        }
      } else if (e.object?.metadata?.name === this.config.nodeName) {
        this.node = e.object;
        this.nodePending = true;
      }
    }
  }

  /** This host's addresses (one dump of every link), for NodePort virtual servers. */
  setNodeAddresses(addrs: readonly LinkAddress[]): void {
    this.linkAddresses = [...addrs];
    this.linksPending = true;
  }

  /** False when this Node is being deleted or tainted ToBeDeletedByClusterAutoscaler (for /healthz). */
  nodeEligible(): boolean {
    return nodeInfoOf(this.node).eligible;
  }

  /** Services and slices changed since the last take (for the *_changes_pending metrics). */
  pendingChanges(): { services: number; endpointSlices: number } {
    return { services: this.services.pendingCount, endpointSlices: this.slices.pendingCount };
  }

  /**
   * Recomputes the services whose inputs changed and patches the merged state. The returned
   * state's maps are live: they are updated in place by the next take.
   */
  takeChanges(): DesiredChange {
    const dirty = new Set<string>();
    const warnings = this.pendingWarnings;
    this.pendingWarnings = [];
    const triggerTimes: number[] = [];

    for (const id of this.services.take().keys()) dirty.add(id);
    for (const [sliceId, change] of this.slices.take()) {
      const before = change.previous ? sliceOwner(change.previous) : undefined;
      const after = change.current ? sliceOwner(change.current) : undefined;
      if (before !== undefined) {
        this.unindexSlice(before, sliceId);
        dirty.add(before);
      }
      if (change.current && after !== undefined) {
        this.indexSlice(after, sliceId, change.current);
        dirty.add(after);
        const t = changedTriggerTime(change.previous, change.current);
        if (t !== undefined) triggerTimes.push(t);
      } else if (change.current) {
        warnings.push(
          warningOn(
            { kind: 'EndpointSlice', namespace: change.current.metadata?.namespace ?? '', name: change.current.metadata?.name ?? '' },
            'metadata.labels[kubernetes.io/service-name]',
            'no kubernetes.io/service-name label: the slice belongs to no service; ignored',
          ),
        );
      }
    }
    this.refreshNode(dirty, warnings);

    this.merged.begin();
    for (const id of dirty) this.recompute(id, warnings);
    const merged = this.merged.commit();
    for (const w of merged.warnings) warnings.push(w);
    this.lastWarnings = warnings;
    this.lastRecomputed = dirty;
    this.totalRecomputed += dirty.size;
    triggerTimes.sort((a, b) => a - b);
    return {
      state: this.merged.state,
      changedVirtualServers: merged.changedVirtualServers,
      changedAddresses: merged.changedAddresses,
      changedServices: dirty,
      triggerTimes,
    };
  }

  /** The merged desired state (live, as of the last take). */
  state(): DesiredState {
    return this.merged.state;
  }

  /** Problems found by the last take: with the objects recomputed in it, and with events applied before it. */
  warnings(): ModelWarning[] {
    return this.lastWarnings;
  }

  /** Services with Local traffic policies and no local endpoint, as of the last take (a gauge). */
  noLocalEndpoints(): NoLocalEndpoints {
    return { External: this.noLocalExternal.size, Internal: this.noLocalInternal.size };
  }

  /** Which services the last take recomputed, and how many recomputations happened in total. */
  recomputeStats(): { lastTake: ReadonlySet<string>; total: number } {
    return { lastTake: this.lastRecomputed, total: this.totalRecomputed };
  }

  private named(object: V1Service | V1EndpointSlice | undefined, kind: 'Service' | 'EndpointSlice'): boolean {
    const name = object?.metadata?.name;
    if (typeof name === 'string' && name !== '') return true;
    this.pendingWarnings.push(warningOn({ kind, namespace: object?.metadata?.namespace ?? '', name: '' }, 'metadata.name', 'object without a name; ignored'));
    return false;
  }

  private indexSlice(service: string, sliceId: string, slice: V1EndpointSlice): void {
    let m = this.slicesByService.get(service);
    if (!m) this.slicesByService.set(service, (m = new Map()));
    m.set(sliceId, slice);
  }

  private unindexSlice(service: string, sliceId: string): void {
    const m = this.slicesByService.get(service);
    if (!m) return;
    m.delete(sliceId);
    if (m.size === 0) this.slicesByService.delete(service);
  }

  /** Node-wide inputs: a new zone dirties services using hints, new NodePort addresses those with NodePorts. */
  private refreshNode(dirty: Set<string>, warnings: ModelWarning[]): void {
    if (!this.nodePending && !this.linksPending) return;
    const info = nodeInfoOf(this.node);
    const zoneChanged = info.zone !== this.nodeInfo.zone;
    const primaryChanged = info.primary.map((p) => p.address).join(' ') !== this.nodeInfo.primary.map((p) => p.address).join(' ');
    this.nodeInfo = info;
    let addresses: readonly VipAddress[] = this.context.nodePortAddresses;
    if (this.linksPending || primaryChanged) {
      const sel = selectNodePortAddresses(this.config, this.linkAddresses, info, this.config.nodeName);
      for (const w of sel.warnings) warnings.push(w);
      addresses = sel.addresses;
    }
    const addressesChanged = !sameAddressList(addresses, this.context.nodePortAddresses);
    let local = this.context.localAddresses;
    if (this.linksPending) {
      local = addressesOnOtherLinks(this.config, this.linkAddresses);
      // Only services with an externalIP or LB IP that came or went on the node are affected.
      for (const a of symmetricDifference(local, this.context.localAddresses)) {
        for (const id of this.externalUsers.get(a) ?? []) dirty.add(id);
      }
    }
    this.context = { zone: info.zone, nodePortAddresses: addresses, localAddresses: local };
    if (zoneChanged) for (const id of this.zoneDependent) dirty.add(id);
    if (addressesChanged) for (const id of this.nodePortServices) dirty.add(id);
    this.nodePending = false;
    this.linksPending = false;
  }

  private recompute(id: string, warnings: ModelWarning[]): void {
    const service = this.services.get(id);
    const slices = this.slicesByService.get(id)?.values() ?? [];
    const next = computeService(id, service, slices, this.config, this.context);
    for (const w of next.warnings) warnings.push(w);
    const old = this.results.get(id);
    for (const a of old?.externalAddresses ?? []) this.externalUsers.get(a)?.delete(id);
    for (const a of next.externalAddresses) {
      let users = this.externalUsers.get(a);
      if (!users) this.externalUsers.set(a, (users = new Set()));
      users.add(id);
    }
    for (const a of old?.externalAddresses ?? []) if (this.externalUsers.get(a)?.size === 0) this.externalUsers.delete(a);
    this.merged.replace(old, next);
    if (service) this.results.set(id, next);
    else this.results.delete(id);
    toggle(this.zoneDependent, id, next.usesZone);
    toggle(this.nodePortServices, id, next.usesNodeAddresses);
    toggle(this.noLocalExternal, id, next.noLocalExternal);
    toggle(this.noLocalInternal, id, next.noLocalInternal);
  }
}

function* symmetricDifference(a: ReadonlySet<string>, b: ReadonlySet<string>): Iterable<string> {
  for (const x of a) if (!b.has(x)) yield x;
  for (const x of b) if (!a.has(x)) yield x;
}

function toggle(set: Set<string>, id: string, on: boolean): void {
  if (on) set.add(id);
  else set.delete(id);
}

function changedTriggerTime(previous: V1EndpointSlice | undefined, current: V1EndpointSlice): number | undefined {
  const now = current.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  if (now === undefined || now === previous?.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION]) return undefined;
  return timestampMs(now);
}

export interface ScratchInputs {
  config: ModelConfig;
  services: readonly V1Service[];
  slices: readonly V1EndpointSlice[];
  node?: V1Node;
  nodeAddresses: readonly LinkAddress[];
}

export interface ScratchResult {
  state: DesiredState;
  warnings: ModelWarning[];
  noLocalEndpoints: NoLocalEndpoints;
}

/** The whole desired state in one pass, with the same per-service function as the model. */
export function computeFromScratch(inputs: ScratchInputs): ScratchResult {
  const config = resolveConfig(inputs.config);
  const info = nodeInfoOf(inputs.node?.metadata?.name === config.nodeName ? inputs.node : undefined);
  const sel = selectNodePortAddresses(config, inputs.nodeAddresses, info, config.nodeName);
  const context: NodeContext = {
    zone: info.zone,
    nodePortAddresses: sel.addresses,
    localAddresses: addressesOnOtherLinks(config, inputs.nodeAddresses),
  };
  const services = new Map<string, V1Service>();
  for (const s of inputs.services) services.set(ownerId(s.metadata?.namespace ?? '', s.metadata?.name ?? ''), s);
  const slicesOf = new Map<string, V1EndpointSlice[]>();
  for (const slice of inputs.slices) {
    const owner = sliceOwner(slice);
    if (owner === undefined) continue;
    const l = slicesOf.get(owner);
    if (l) l.push(slice);
    else slicesOf.set(owner, [slice]);
  }
  const results: ServiceResult[] = [];
  const warnings = [...sel.warnings];
  const noLocal: NoLocalEndpoints = { External: 0, Internal: 0 };
  for (const [id, svc] of services) {
    const r = computeService(id, svc, slicesOf.get(id) ?? [], config, context);
    results.push(r);
    for (const w of r.warnings) warnings.push(w);
    if (r.noLocalExternal) noLocal.External++;
    if (r.noLocalInternal) noLocal.Internal++;
  }
  const merged = mergeAll(results);
  return { state: merged.state, warnings: warnings.concat(merged.warnings), noLocalEndpoints: noLocal };
}
