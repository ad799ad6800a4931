// The Helm chart's view of the agent's settings, generated from the option table and the zod
// schema the agent validates with, so the chart never accepts a key or a shape the agent refuses:
// - the `config` section of charts/ipvs-proxy/values.schema.json (z.toJSONSchema of layerSchema);
// - charts/ipvs-proxy/templates/_options.tpl: what the chart's own checks (templates/_validate.tpl)
//   need to refuse what a JSON Schema cannot say, with the agent's words for each key.
// `npm run gen:chart-schema` writes both; a unit test fails when the committed files differ.
// Only the generator and its test import this module; the agent never does.
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.js';
import { KUBE_PROXY_API_VERSION, KUBE_PROXY_FIELDS } from './kubeproxy.js';
import { CONFIG_KEYS, ConfigKey, OPTION_SPECS, SCHEDULER_FLAGS, optionSpec } from './options.js';
import { checkedAs, layerSchema, writtenAs } from './schema.js';

/** Keys a cluster-wide ConfigMap must not hold: the node name is per node, the Redis URL a secret. */
export const CHART_OMITTED_KEYS: readonly ConfigKey[] = ['nodeName', 'statusRedis', 'statusRedisPasswordFile'];

export const CHART_CONFIG_KEYS: readonly ConfigKey[] = CONFIG_KEYS.filter((key) => !CHART_OMITTED_KEYS.includes(key));

const SCHEMA_PATH = 'charts/ipvs-proxy/values.schema.json';
const OPTIONS_PATH = 'charts/ipvs-proxy/templates/_options.tpl';

type JsonObject = Record<string, unknown>;

/** The JSON Schema of the chart's `config` values: the agent's keys, each as a file may write it. */
export function chartConfigSchema(): JsonObject {
  const omitted = Object.fromEntries(CHART_OMITTED_KEYS.map((key) => [key, true])) as Partial<Record<ConfigKey, true>>;
  const generated = z.toJSONSchema(layerSchema.omit(omitted), {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const shape = writtenAs.get(ctx.zodSchema);
      if (!shape) return;
      for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonObject)[key];
      Object.assign(ctx.jsonSchema, structuredClone(shape));
    },
  }) as JsonObject;
  const properties = generated.properties as Record<string, JsonObject>;
  const described: Record<string, JsonObject> = {};
  for (const key of CHART_CONFIG_KEYS) {
    const spec = optionSpec(key);
    const defaultNote = spec.defaultText !== undefined ? ` Default: ${spec.defaultText}.` : '';
    described[key] = { description: `${spec.description} (${spec.flag}). Allowed: ${spec.allowed}.${defaultNote}`, ...properties[key] };
  }
  return {
    type: 'object',
    description:
      "The agent's config file: keys are the flags of `ipvs-proxy run` in camelCase. " +
      'nodeName comes from the pod, the status Redis from statusRedis. Generated from the agent (npm run gen:chart-schema).',
    additionalProperties: false,
    properties: described,
  };
}

/**
 * Which of templates/_validate.tpl's checks mirrors each key's parsing in schema.ts. A key added to
 * the option table must name one here (the Record makes that a type error until it does).
 */
type ChartCheck =
  | 'text'
  | 'oneOf'
  | 'duration'
  | 'positiveDuration'
  | 'wholeSeconds'
  | 'boolean'
  | 'cidrList'
  | 'nodeportAddresses'
  | 'schedulerFlags'
  | 'portRange'
  | 'bit'
  | 'bindAddress'
  | 'absolutePath'
  | 'redisUrl';

const CHART_CHECKS: Record<ConfigKey, ChartCheck> = {
  kubeconfig: 'text',
  manifests: 'text',
  nodeName: 'text',
  serviceProxyName: 'text',
  scheduler: 'oneOf',
  schedulerFlags: 'schedulerFlags',
  syncPeriod: 'positiveDuration',
  minSyncPeriod: 'duration',
  nodeportAddresses: 'nodeportAddresses',
  nodeportRange: 'portRange',
  serviceCidrs: 'cidrList',
  excludeCidrs: 'cidrList',
  strictArp: 'boolean',
  vipMode: 'oneOf',
  tcpTimeout: 'wholeSeconds',
  tcpfinTimeout: 'wholeSeconds',
  udpTimeout: 'wholeSeconds',
  gracefulTerminationTimeout: 'duration',
  masqueradeAll: 'boolean',
  clusterCidr: 'cidrList',
  masqueradeBit: 'bit',
  healthzBindAddress: 'bindAddress',
  metricsBindAddress: 'bindAddress',
  stateDir: 'absolutePath',
  sysctlMode: 'oneOf',
  logLevel: 'oneOf',
  logFormat: 'oneOf',
  statusRedis: 'redisUrl',
  statusRedisPasswordFile: 'text',
};

function keyRule(spec: (typeof OPTION_SPECS)[number]): JsonObject {
  const schema = layerSchema.shape[spec.key].unwrap();
  const values = (writtenAs.get(schema)?.enum as unknown[] | undefined) ?? undefined;
  const what = checkedAs.get(schema)?.what;
  return {
    flag: spec.flag,
    check: CHART_CHECKS[spec.key],
    allowed: spec.allowed,
    ...(what !== undefined ? { what } : {}),
    ...(values !== undefined ? { values } : {}),
  };
}

/** What the chart's templates check beyond the JSON Schema, with the agent's words. */
export function chartOptions(): JsonObject {
  return {
    keys: Object.fromEntries(OPTION_SPECS.map((spec) => [spec.key, keyRule(spec)])),
    durationPattern: DURATION_PATTERN.source,
    schedulerFlags: [...SCHEDULER_FLAGS],
    kubeProxyApiVersion: KUBE_PROXY_API_VERSION,
    kubeProxyFields: KUBE_PROXY_FIELDS,
  };
}

export interface GeneratedFile {
  path: string;
  text: string;
}

/** values.schema.json with its `config` section replaced, and _options.tpl; the rest of the schema is the chart's own. */
export function generateChartFiles(currentSchemaText: string): GeneratedFile[] {
  const schema = JSON.parse(currentSchemaText) as { properties: JsonObject };
  schema.properties.config = chartConfigSchema();
  const options = [
    '{{/* Generated from src/config (options.ts, duration.ts, kubeproxy.ts) by `npm run gen:chart-schema`: do not edit. */}}',
    '{{- define "ipvs-proxy.options" -}}',
    JSON.stringify(chartOptions(), null, 2),
    '{{- end -}}',
    '',
  ].join('\n');
  return [
    { path: SCHEMA_PATH, text: `${JSON.stringify(schema, null, 2)}\n` },
    { path: OPTIONS_PATH, text: options },
  ];
}
