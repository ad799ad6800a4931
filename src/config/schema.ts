// Validation of one layer of settings (the config file's keys or the flags), each key parsed from
// what a user writes into the typed value Settings holds. Every problem is collected, none thrown
// on its own, so one run names every bad key at once.
import { z } from 'zod';
import { parseDurationMs } from './duration.js';
import { ConfigIssue, ConfigSource, cutForMessage } from './errors.js';
import { formatBindAddress, isCidr, parseBindAddress, parsePortRange } from './network.js';
import { CONFIG_KEYS, ConfigKey, LOG_FORMATS, LOG_LEVELS, SCHEDULERS, SCHEDULER_FLAGS, SYSCTL_MODES, SchedulerFlag, VIP_MODES, optionSpec } from './options.js';

const show = (value: unknown): string => (typeof value === 'string' ? `'${cutForMessage(value)}'` : cutForMessage(JSON.stringify(value) ?? String(value)));

/**
 * How a value is written in a YAML file, as JSON Schema, for the keys where zod's own input type
 * (any YAML scalar, parsed later) says less than the agent accepts: the Helm chart's
 * values.schema.json is generated from layerSchema with these shapes (src/config/chart-schema.ts).
 * Syntax the agent checks in code (durations, CIDRs, ports) is left to words, not patterns.
 */
export const writtenAs = z.registry<Record<string, unknown>>();

/** What a checked value must be, in the words of the agent's message ('a duration above zero'). */
export const checkedAs = z.registry<{ what: string }>();

const TEXT = { type: 'string' };
const LIST = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
const written = <T extends z.ZodType>(schema: T, shape: Record<string, unknown>): T => {
  writtenAs.add(schema, shape);
  return schema;
};

/** A string, or a scalar YAML may have typed (14, true) taken as its text. */
const scalarText = z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value).trim());

/** Comma-separated text or a list of such texts, flattened; entries trimmed, empty ones dropped. */
const listText = z
  .union([scalarText, z.array(scalarText)])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')))
  .transform((items) => items.map((item) => item.trim()).filter((item) => item !== ''));

/** Text parsed by `parse`; undefined from it is an issue saying the text is not `what`. */
function checked<T>(what: string, parse: (text: string) => T | undefined) {
  const schema = scalarText.transform((text, ctx): T => {
    const parsed = parse(text);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `${show(text)} is not ${what}` });
      return z.NEVER;
    }
    return parsed;
  });
  checkedAs.add(schema, { what });
  return schema;
}

function oneOf<const T extends readonly string[]>(values: T, what: string) {
  const schema = checked(what, (text) => ((values as readonly string[]).includes(text) ? (text as T[number]) : undefined));
  return written(schema, { type: 'string', enum: [...values] });
}

/** Optional text; '' means "explicitly unset" (null), so a flag can clear a file's value. */
const optionalText = () =>
  written(
    scalarText.transform((text) => (text === '' ? null : text)),
    TEXT,
  );

/** A duration is text ('30s'); a bare 0 is one too. */
const DURATION = { type: ['string', 'integer'] };
const durationMs = () => written(checked('a duration', parseDurationMs), DURATION);
const positiveDurationMs = written(
  checked('a duration above zero', (text) => {
    const ms = parseDurationMs(text);
    return ms !== undefined && ms > 0 ? ms : undefined;
  }),
  DURATION,
);
const timeoutSeconds = () =>
  written(
    checked('a duration in whole seconds', (text) => {
      const ms = parseDurationMs(text);
      return ms !== undefined && ms % 1000 === 0 ? ms / 1000 : undefined;
    }),
    DURATION,
  );
const boolean = () =>
  written(
    checked('a boolean', (text) => (text === 'true' ? true : text === 'false' ? false : undefined)),
    { type: ['boolean', 'string'], enum: [true, false, 'true', 'false'] },
  );

function cidrList() {
  return written(
    listText.superRefine((items, ctx) => {
      for (const item of items) {
        if (!isCidr(item)) ctx.addIssue({ code: 'custom', message: `${show(item)} is not a CIDR` });
      }
    }),
    LIST,
  );
}

const nodeportAddresses = written(
  listText.superRefine((items, ctx) => {
    if (items.includes('primary')) {
      if (items.length > 1) ctx.addIssue({ code: 'custom', message: "'primary' cannot be combined with CIDRs" });
      return;
    }
    for (const item of items) {
      if (!isCidr(item)) ctx.addIssue({ code: 'custom', message: `${show(item)} is neither a CIDR nor 'primary'` });
    }
  }),
  LIST,
);

const schedulerFlags = written(
  listText.transform((items, ctx): SchedulerFlag[] => {
    const bad = items.filter((item) => !(SCHEDULER_FLAGS as readonly string[]).includes(item));
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `${bad.map(show).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not valid` });
      return z.NEVER;
    }
    return [...new Set(items)] as SchedulerFlag[];
  }),
  { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string', enum: [...SCHEDULER_FLAGS] } }] },
);

const masqueradeBit = written(
  checked('a bit number from 0 to 31', (text) => {
    if (!/^\d+$/.test(text)) return undefined;
    const bit = Number(text);
    return bit <= 31 ? bit : undefined;
  }),
  { anyOf: [{ type: 'integer', minimum: 0, maximum: 31 }, { type: 'string' }] },
);

function bindAddress() {
  return written(
    checked('an IP address with a port', (text) => {
      const parsed = parseBindAddress(text);
      return parsed ? formatBindAddress(parsed) : undefined;
    }),
    TEXT,
  );
}

const absolutePath = written(
  checked('an absolute path', (text) => (text.startsWith('/') ? text : undefined)),
  TEXT,
);

const redisUrl = written(
  scalarText.transform((text, ctx) => {
    if (text === '') return null;
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
      ctx.addIssue({ code: 'custom', message: `${show(text)} is not a redis:// or rediss:// URL` });
      return z.NEVER;
    }
    return text;
  }),
  TEXT,
);

export const layerSchema = z
  .strictObject({
    kubeconfig: optionalText(),
    manifests: optionalText(),
    nodeName: optionalText(),
    serviceProxyName: optionalText(),
    scheduler: oneOf(SCHEDULERS, 'a known IPVS scheduler'),
    schedulerFlags,
    syncPeriod: positiveDurationMs,
    minSyncPeriod: durationMs(),
    nodeportAddresses,
    nodeportRange: written(checked('a port range', parsePortRange), TEXT),
    serviceCidrs: cidrList(),
    excludeCidrs: cidrList(),
    strictArp: boolean(),
    vipMode: oneOf(VIP_MODES, 'a VIP mode'),
    tcpTimeout: timeoutSeconds(),
    tcpfinTimeout: timeoutSeconds(),
    udpTimeout: timeoutSeconds(),
    gracefulTerminationTimeout: durationMs(),
    masqueradeAll: boolean(),
    clusterCidr: cidrList(),
    masqueradeBit,
    healthzBindAddress: bindAddress(),
    metricsBindAddress: bindAddress(),
    stateDir: absolutePath,
    sysctlMode: oneOf(SYSCTL_MODES, 'a sysctl mode'),
    logLevel: oneOf(LOG_LEVELS, 'a log level'),
    logFormat: oneOf(LOG_FORMATS, 'a log format'),
    statusRedis: redisUrl,
    statusRedisPasswordFile: optionalText(),
  } satisfies Record<ConfigKey, z.ZodType>)
  .partial();

export type SettingsLayer = z.output<typeof layerSchema>;
export type RawLayer = Partial<Record<string, unknown>>;

export interface LayerResult {
  layer: SettingsLayer;
  issues: ConfigIssue[];
}

/**
 * Validates one layer. `keyName` turns a config key into the name the user wrote (a flag, a file
 * key, or a kube-proxy field). A null value counts as absent, as YAML writes an empty key.
 */
export function validateLayer(raw: RawLayer, source: ConfigSource, keyName: (key: string) => string): LayerResult {
  const present = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== null && value !== undefined));
  const result = layerSchema.safeParse(present);
  if (result.success) return { layer: result.data, issues: [] };
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = closestKey(key);
        const problem = near ? `unknown key (did you mean ${keyName(near)}?)` : 'unknown key';
        issues.push({ key: keyName(key), source, problem, allowed: `one of the keys ${CONFIG_KEYS.join(', ')}` });
      }
      continue;
    }
    const key = String(issue.path[0]);
    const allowed = optionSpec(key as ConfigKey).allowed;
    const problem = issue.code === 'custom' ? issue.message : `${show(present[key])} has the wrong type`;
    issues.push({ key: keyName(key), source, problem, allowed });
  }
  return { layer: {}, issues };
}

/** The known key a typo most likely meant: edit distance at most 2, ignoring case. */
function closestKey(unknown: string): ConfigKey | undefined {
  let best: { key: ConfigKey; distance: number } | undefined;
  for (const key of CONFIG_KEYS) {
    const distance = editDistance(unknown.toLowerCase(), key.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
