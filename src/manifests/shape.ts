// Basic shape checks for objects read from manifests: right apiVersion, a name, and fields of
// the types the API guarantees, so the model never meets a string where it expects a list.
// Semantic checks (port ranges, IP families, ...) are the model's job, with its own warnings.
import type { V1EndpointSlice, V1Endpoints, V1Node, V1Service } from '@kubernetes/client-node';
import { projectEndpointSlice, projectService } from '../k8s/project.js';
import { array, boolean, integer, literal, nonEmptyString, object, oneOf, optional, string, stringMap, type Check } from './shape-check.js';

const optionalString = optional(string);
const nullableString = optional(string, true);

const metadataFields = {
  name: nonEmptyString,
  labels: optional(stringMap),
  annotations: optional(stringMap),
};
const metadata = object({ ...metadataFields, namespace: optional(nonEmptyString) });

const servicePort = object({
  name: optionalString,
  protocol: optionalString,
  port: integer,
  targetPort: optional(oneOf(integer, string)),
  nodePort: optional(integer),
});

const service = object({
  apiVersion: literal('v1'),
  metadata,
  spec: object({
    type: optionalString,
    clusterIP: optionalString,
    clusterIPs: optional(array(string)),
    externalIPs: optional(array(string)),
    ports: optional(array(servicePort)),
    selector: optional(stringMap),
    sessionAffinity: optionalString,
  }),
});

const nullableBoolean = optional(boolean, true);
const endpointSlice = object({
  apiVersion: literal('discovery.k8s.io/v1'),
  metadata,
  addressType: string,
  endpoints: array(
    object({
      addresses: array(string),
      conditions: optional(object({ ready: nullableBoolean, serving: nullableBoolean, terminating: nullableBoolean })),
      nodeName: optionalString,
      zone: optionalString,
    }),
  ),
  ports: optional(array(object({ name: nullableString, port: optional(integer, true), protocol: nullableString })), true),
});

const endpointAddress = object({ ip: string, hostname: optionalString, nodeName: optionalString });

const endpoints = object({
  apiVersion: literal('v1'),
  metadata,
  subsets: optional(
    array(
      object({
        addresses: optional(array(endpointAddress)),
        notReadyAddresses: optional(array(endpointAddress)),
        ports: optional(array(object({ name: optionalString, port: integer, protocol: optionalString, appProtocol: optionalString }))),
      }),
    ),
  ),
});

const node = object({ apiVersion: literal('v1'), metadata: object(metadataFields) });

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

const SCHEMAS: Record<CheckedObject['kind'], Check> = { Service: service, EndpointSlice: endpointSlice, Endpoints: endpoints, Node: node };

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
  if (!Object.hasOwn(SCHEMAS, kind)) return { ok: 'ignored', kind };
  const k = kind as keyof typeof SCHEMAS;
  const issue = SCHEMAS[k](value);
  if (issue !== undefined) return { ok: false, kind, name, field: issue.path.map(String).join('.') || '(object)', message: issue.message };
  // Plain objects, not the client's typed models (the model reads timestamps as RFC 3339 strings
  // as well as Dates); Services and EndpointSlices reduced to the fields the agent reads.
  const raw = (
    k === 'Service'
      ? projectService(value as unknown as V1Service)
      : k === 'EndpointSlice'
        ? projectEndpointSlice(value as unknown as V1EndpointSlice)
        : structuredClone(value)
  ) as { metadata: Record<string, unknown> };
  if (k !== 'Node' && raw.metadata.namespace === undefined) raw.metadata.namespace = 'default';
  const object: unknown = raw;
  return { ok: true, checked: { kind: k, object } as CheckedObject };
}
