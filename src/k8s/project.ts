// Services and EndpointSlices reduced, at the source edge, to the fields the agent reads (the
// model, the health check node ports, Events): a 10,000-service cluster's objects carry
// managedFields, selectors, ipFamilies, zones and annotations nobody here reads, and the sources
// keep every object for as long as it exists. Values are copied as they are, right or wrong: the
// model checks them and warns about the bad ones. A field absent stays absent.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { SCHEDULER_ANNOTATION, SCHEDULER_FLAGS_ANNOTATION, TRIGGER_TIME_ANNOTATION } from '../model/objects.js';

type Loose = Record<string, unknown>;

const METADATA = ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'labels'] as const;
const SERVICE_ANNOTATIONS = [SCHEDULER_ANNOTATION, SCHEDULER_FLAGS_ANNOTATION] as const;
const SLICE_ANNOTATIONS = [TRIGGER_TIME_ANNOTATION] as const;
const SERVICE_SPEC = [
  'type',
  'clusterIP',
  'clusterIPs',
  'externalIPs',
  'externalTrafficPolicy',
  'internalTrafficPolicy',
  'sessionAffinity',
  'loadBalancerSourceRanges',
  'healthCheckNodePort',
] as const;
const SERVICE_PORT = ['name', 'protocol', 'port', 'nodePort', 'targetPort'] as const;
const SLICE_PORT = ['name', 'protocol', 'port'] as const;
const CONDITIONS = ['ready', 'serving', 'terminating'] as const;
const TARGET_REF = ['kind', 'namespace', 'name'] as const;

function isLoose(v: unknown): v is Loose {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The named fields of `from` that are present (null included), in the order named. */
function pick(from: Loose, keys: readonly string[]): Loose {
  const out: Loose = {};
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(from, k)) out[k] = from[k];
  return out;
}

/** A sub-object projected by `fn` when it is an object; other values (a wrong type) as they are. */
function sub(from: Loose, key: string, fn: (v: Loose) => unknown, into: Loose): void {
  if (!Object.prototype.hasOwnProperty.call(from, key)) return;
  const v = from[key];
  into[key] = isLoose(v) ? fn(v) : v;
}

/** An array's object items projected by `fn`; anything else as it is. */
function items(from: Loose, key: string, fn: (v: Loose) => unknown, into: Loose): void {
  if (!Object.prototype.hasOwnProperty.call(from, key)) return;
  const v = from[key];
  into[key] = Array.isArray(v) ? v.map((item: unknown) => (isLoose(item) ? fn(item) : item)) : v;
}

function metadata(meta: Loose, annotations: readonly string[]): Loose {
  const out = pick(meta, METADATA);
  const a = meta.annotations;
  if (isLoose(a)) {
    const kept = pick(a, annotations);
    if (Object.keys(kept).length > 0) out.annotations = kept;
  } else if (a !== undefined) {
    out.annotations = a;
  }
  return out;
}

export function projectService(svc: V1Service): V1Service {
  const from = svc as unknown as Loose;
  const out: Loose = pick(from, ['apiVersion', 'kind']);
  sub(from, 'metadata', (m) => metadata(m, SERVICE_ANNOTATIONS), out);
  sub(
    from,
    'spec',
    (spec) => {
      const s = pick(spec, SERVICE_SPEC);
      items(spec, 'ports', (p) => pick(p, SERVICE_PORT), s);
      sub(
        spec,
        'sessionAffinityConfig',
        (c) => {
          const o: Loose = {};
          sub(c, 'clientIP', (ip) => pick(ip, ['timeoutSeconds']), o);
          return o;
        },
        s,
      );
      return s;
    },
    out,
  );
  sub(
    from,
    'status',
    (status) => {
      const o: Loose = {};
      sub(
        status,
        'loadBalancer',
        (lb) => {
          const l: Loose = {};
          items(lb, 'ingress', (i) => pick(i, ['ip', 'ipMode']), l);
          return l;
        },
        o,
      );
      return o;
    },
    out,
  );
  return out as unknown as V1Service;
}

export function projectEndpointSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const from = slice as unknown as Loose;
  const out: Loose = pick(from, ['apiVersion', 'kind', 'addressType']);
  sub(from, 'metadata', (m) => metadata(m, SLICE_ANNOTATIONS), out);
  items(
    from,
    'endpoints',
    (e) => {
      const o = pick(e, ['addresses', 'nodeName']);
      sub(e, 'conditions', (c) => pick(c, CONDITIONS), o);
      sub(
        e,
        'hints',
        (h) => {
          const hints: Loose = {};
          items(h, 'forZones', (z) => pick(z, ['name']), hints);
          items(h, 'forNodes', (n) => pick(n, ['name']), hints);
          return hints;
        },
        o,
      );
      sub(e, 'targetRef', (r) => pick(r, TARGET_REF), o);
      return o;
    },
    out,
  );
  items(from, 'ports', (p) => pick(p, SLICE_PORT), out);
  return out as unknown as V1EndpointSlice;
}
