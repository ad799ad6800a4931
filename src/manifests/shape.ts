// Basic shape checks for objects read from manifests: right apiVersion, a name, and fields of
// the types the API guarantees, so the model never meets a string where it expects a list.
// Semantic checks (port ranges, IP families, ...) are the model's job, with its own warnings.
import { z } from 'zod';
import type { V1EndpointSlice, V1Endpoints, V1Node, V1Service } from '@kubernetes/client-node';
import { projectEndpointSlice, projectService } from '../k8s/project.js';

const stringMap = z.record(z.string(), z.string());

const metadata = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

const servicePort = z.looseObject({
  name: z.string().optional(),
  protocol: z.string().optional(),
  port: z.number().int(),
  targetPort: z.union([z.number().int(), z.string()]).optional(),
  nodePort: z.number().int().optional(),
});

const service = z.looseObject({
  apiVersion: z.literal('v1'),
  metadata,
  spec: z.looseObject({
    type: z.string().optional(),
    clusterIP: z.string().optional(),
    clusterIPs: z.array(z.string()).optional(),
    externalIPs: z.array(z.string()).optional(),
    ports: z.array(servicePort).optional(),
    selector: stringMap.optional(),
    sessionAffinity: z.string().optional(),
  }),
});

const endpointConditions = z.looseObject({
  ready: z.boolean().nullable().optional(),
  serving: z.boolean().nullable().optional(),
  terminating: z.boolean().nullable().optional(),
});

const endpointSlice = z.looseObject({
  apiVersion: z.literal('discovery.k8s.io/v1'),
  metadata,
  addressType: z.string(),
  endpoints: z.array(z.looseObject({
    addresses: z.array(z.string()),
    conditions: endpointConditions.optional(),
    nodeName: z.string().optional(),
    zone: z.string().optional(),
  })),
  ports: z.array(z.looseObject({
    name: z.string().nullable().optional(),
    port: z.number().int().nullable().optional(),
    protocol: z.string().nullable().optional(),
  })).nullable().optional(),
});

const endpointAddress = z.looseObject({ ip: z.string(), hostname: z.string().optional(), nodeName: z.string().optional() });

const endpoints = z.looseObject({
  apiVersion: z.literal('v1'),
  metadata,
  subsets: z.array(z.looseObject({
    addresses: z.array(endpointAddress).optional(),
    notReadyAddresses: z.array(endpointAddress).optional(),
    ports: z.array(z.looseObject({
      name: z.string().optional(), port: z.number().int(), protocol: z.string().optional(), appProtocol: z.string().optional(),
    })).optional(),
  })).optional(),
});

const node = z.looseObject({ apiVersion: z.literal('v1'), metadata: metadata.omit({ namespace: true }) });

export type CheckedObject =
  | { kind: 'Service'; object: V1Service }
  | { kind: 'EndpointSlice'; object: V1EndpointSlice }
  | { kind: 'Endpoints'; object: V1Endpoints }
  | { kind: 'Node'; object: V1Node };

export type ShapeResult =
  | { ok: true; checked: CheckedObject }
  | { ok: false; kind: string; name: string; field: string; message: string }
  /** A kind this source does not read (Deployments and the like next to Services). */
  | { ok: 'ignored'; kind: string };

const SCHEMAS = { Service: service, EndpointSlice: endpointSlice, Endpoints: endpoints, Node: node } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks one raw object; missing metadata.namespace of namespaced kinds becomes "default". */
export function checkShape(value: unknown): ShapeResult {
  if (!isRecord(value)) return { ok: false, kind: '?', name: '?', field: '(document)', message: 'not a mapping' };
  const kind = typeof value.kind === 'string' ? value.kind : '';
  const meta = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '?';
  if (kind === '') return { ok: false, kind: '?', name, field: 'kind', message: 'missing' };
  if (!(kind in SCHEMAS)) return { ok: 'ignored', kind };
  const k = kind as keyof typeof SCHEMAS;
  const parsed = SCHEMAS[k].safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, kind, name, field: issue.path.map(String).join('.') || '(object)', message: issue.message };
  }
  // Plain objects, not the client's typed models (the model reads timestamps as RFC 3339 strings
  // as well as Dates); Services and EndpointSlices reduced to the fields the agent reads.
  const raw = (k === 'Service' ? projectService(value as unknown as V1Service) : k === 'EndpointSlice' ? projectEndpointSlice(value as unknown as V1EndpointSlice)
    : structuredClone(value)) as { metadata: Record<string, unknown> };
  if (k !== 'Node' && raw.metadata.namespace === undefined) raw.metadata.namespace = 'default';
  const object: unknown = raw;
  return { ok: true, checked: { kind: k, object } as CheckedObject };
}
