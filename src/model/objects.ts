// Small helpers over Kubernetes objects as they arrive from informers or hand-written manifests,
// whose fields may be missing or of the wrong type despite the TypeScript declarations.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { ModelObjectRef, ModelWarning } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const SCHEDULER_ANNOTATION = 'ipvs-proxy.io/scheduler';
export const SCHEDULER_FLAGS_ANNOTATION = 'ipvs-proxy.io/scheduler-flags';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export function ownerId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The reference of the object an owner id ("namespace/name") names; a namespace holds no '/'. */
export function ownerRef(kind: ModelObjectRef['kind'], id: string): ModelObjectRef {
  const slash = id.indexOf('/');
  return slash < 0 ? { kind, namespace: '', name: id } : { kind, namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

/** A warning about one object: the typed reference and its text for messages. */
export function warningOn(ref: ModelObjectRef, field: string, message: string): ModelWarning {
  const name = ref.name === '' ? '?' : ref.name;
  const object = ref.kind === 'Node' ? `Node ${name}` : `${ref.kind} ${ref.namespace}/${name}`;
  return { ref, object, field, message };
}

/** The array, or an empty one when the field is absent or not an array. */
export function list<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? value : [];
}

/** Milliseconds since the epoch from a Date or an RFC 3339 string; undefined when unusable. */
export function timestampMs(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * The label rule of KEP-2447, as the sources apply it in their selectors; checked again here so
 * that a source bug cannot make us program another proxy's services.
 */
export function isOurs(labels: Record<string, string> | undefined, serviceProxyName: string | undefined): boolean {
  const l = labels ?? {};
  if (Object.prototype.hasOwnProperty.call(l, HEADLESS_LABEL)) return false;
  const proxy = Object.prototype.hasOwnProperty.call(l, SERVICE_PROXY_NAME_LABEL) ? l[SERVICE_PROXY_NAME_LABEL] : undefined;
  return serviceProxyName === undefined || serviceProxyName === '' ? proxy === undefined : proxy === serviceProxyName;
}

/** The service a slice belongs to, or undefined without the label. */
export function sliceOwner(slice: V1EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return typeof svc === 'string' && svc !== '' ? ownerId(slice.metadata?.namespace ?? '', svc) : undefined;
}

/**
 * What of a Service can change the desired state: exactly the fields the model reads, in a fixed
 * order. resourceVersion, managedFields, other annotations and the rest of status are left out,
 * so updates touching only those are dropped as no-ops.
 */
export function serviceFingerprint(svc: V1Service): string {
  const m = svc.metadata ?? {};
  const a = m.annotations ?? {};
  const spec = svc.spec ?? {};
  return JSON.stringify([
    timestampMs(m.creationTimestamp) ?? null,
    m.labels?.[SERVICE_PROXY_NAME_LABEL] ?? null,
    m.labels?.[HEADLESS_LABEL] ?? null,
    a[SCHEDULER_ANNOTATION] ?? null,
    a[SCHEDULER_FLAGS_ANNOTATION] ?? null,
    svc.spec === undefined ? 0 : 1,
    spec.type ?? null,
    spec.clusterIP ?? null,
    spec.clusterIPs ?? null,
    list(spec.ports).map((p) => (p && typeof p === 'object' ? [p.name ?? null, p.protocol ?? null, p.port ?? null, p.nodePort ?? null] : p)),
    spec.externalIPs ?? null,
    spec.externalTrafficPolicy ?? null,
    spec.internalTrafficPolicy ?? null,
    spec.sessionAffinity ?? null,
    spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? null,
    spec.loadBalancerSourceRanges ?? null,
    list(svc.status?.loadBalancer?.ingress).map((i) => (i && typeof i === 'object' ? [i.ip ?? null, i.ipMode ?? null] : i)),
  ]);
}

/** What of an EndpointSlice can change the desired state (the trigger time is not part of it). */
export function sliceFingerprint(slice: V1EndpointSlice): string {
  const l = slice.metadata?.labels ?? {};
  return JSON.stringify([
    l[SERVICE_NAME_LABEL] ?? null,
    l[SERVICE_PROXY_NAME_LABEL] ?? null,
    l[HEADLESS_LABEL] ?? null,
    slice.addressType ?? null,
    list(slice.endpoints).map((e) => {
      if (!e || typeof e !== 'object') return e;
      const c = e.conditions;
      const h = e.hints;
      const r = e.targetRef;
      return [
        e.addresses ?? null,
        c ? [c.ready ?? null, c.serving ?? null, c.terminating ?? null] : null,
        e.nodeName ?? null,
        h ? [list(h.forZones).map((z) => z?.name ?? null), list(h.forNodes).map((n) => n?.name ?? null)] : null,
        r ? [r.kind ?? null, r.namespace ?? null, r.name ?? null] : null,
      ];
    }),
    list(slice.ports).map((p) => (p && typeof p === 'object' ? [p.name ?? null, p.protocol ?? null, p.port ?? null] : p)),
  ]);
}
