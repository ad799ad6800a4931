// Small helpers over Kubernetes objects as they arrive from informers or hand-written manifests,
// whose fields may be missing or of the wrong type despite the TypeScript declarations.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const SCHEDULER_ANNOTATION = 'ipvs-proxy.io/scheduler';
export const SCHEDULER_FLAGS_ANNOTATION = 'ipvs-proxy.io/scheduler-flags';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export function ownerId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
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
 * What of a Service can change the desired state. resourceVersion, managedFields, status other
 * than load balancer ingress, and unrelated annotations are left out, so updates touching only
 * those are dropped as no-ops.
 */
export function serviceFingerprint(svc: V1Service): string {
  const m = svc.metadata ?? {};
  const a = m.annotations ?? {};
  return stableJson([
    m.creationTimestamp ?? null,
    m.labels?.[SERVICE_PROXY_NAME_LABEL] ?? null,
    m.labels?.[HEADLESS_LABEL] ?? null,
    a[SCHEDULER_ANNOTATION] ?? null,
    a[SCHEDULER_FLAGS_ANNOTATION] ?? null,
    svc.spec ?? null,
    svc.status?.loadBalancer?.ingress ?? null,
  ]);
}

/** What of an EndpointSlice can change the desired state (the trigger time is not part of it). */
export function sliceFingerprint(slice: V1EndpointSlice): string {
  const l = slice.metadata?.labels ?? {};
  return stableJson([
    l[SERVICE_NAME_LABEL] ?? null,
    l[SERVICE_PROXY_NAME_LABEL] ?? null,
    l[HEADLESS_LABEL] ?? null,
    slice.addressType ?? null,
    slice.endpoints ?? null,
    slice.ports ?? null,
  ]);
}

/** JSON with object keys sorted, so that two sources spelling one object differently agree. */
export function stableJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
