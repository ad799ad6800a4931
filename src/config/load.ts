// Settings from defaults < config file < flags. The config file is either our own YAML (keys are
// the flags in camelCase) or kube-proxy's KubeProxyConfiguration; both are validated key by key
// and every problem is reported in one ConfigError.
import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { yaml } from '../util/yaml.js';
import { ConfigError, ConfigIssue, ConfigSource } from './errors.js';
import { ConfigNotice, isKubeProxyConfiguration, layerFromKubeProxyConfiguration } from './kubeproxy.js';
import { ConfigKey, DEFAULT_HEALTHZ_PORT, DEFAULT_METRICS_PORT, optionSpec } from './options.js';
import { RawLayer, SettingsLayer, validateLayer } from './schema.js';
import { Settings } from './settings.js';
import { DEFAULT_STATE_DIR } from './defaults.js';
import { messageOf } from '../util/errors.js';

export interface ConfigFileText {
  path: string;
  text: string;
}

export interface SettingsInput {
  /** Flag values by config key (see flagsFromCommander); absent keys were not given. */
  flags: RawLayer;
  configFile?: ConfigFileText;
  env: Readonly<Record<string, string | undefined>>;
  /** Whether logs go to a terminal: the default log format is then text instead of json. */
  isTTY?: boolean;
  /** The machine's hostname, the last resort for the node name (default: os.hostname()). */
  hostname?: string;
}

export type ConfigFileFormat = 'ipvs-proxy' | 'KubeProxyConfiguration';

export interface LoadedSettings {
  settings: Settings;
  /** Things worth a log line that are not errors: ignored and unknown kube-proxy fields. */
  notices: ConfigNotice[];
  configFormat?: ConfigFileFormat;
}

export function defaultSettings(nodeName: string, isTTY = false): Settings {
  return {
    nodeName,
    scheduler: 'rr',
    schedulerFlags: [],
    syncPeriodMs: 30_000,
    minSyncPeriodMs: 0,
    nodePortAddresses: [],
    nodePortRange: { min: 30000, max: 32767 },
    serviceCidrs: [],
    excludeCidrs: [],
    strictArp: false,
    vipMode: 'routes',
    tcpTimeout: 0,
    tcpFinTimeout: 0,
    udpTimeout: 0,
    gracefulTerminationTimeoutMs: 30_000,
    masqueradeAll: false,
    clusterCidr: [],
    masqueradeBit: 14,
    healthzBindAddress: `0.0.0.0:${DEFAULT_HEALTHZ_PORT}`,
    metricsBindAddress: `127.0.0.1:${DEFAULT_METRICS_PORT}`,
    stateDir: DEFAULT_STATE_DIR,
    sysctlMode: 'write',
    logLevel: 'info',
    logFormat: isTTY ? 'text' : 'json',
  };
}

/** Reads a config file; an unreadable file is a ConfigError naming it. */
export async function readConfigFile(path: string): Promise<ConfigFileText> {
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (error) {
    const reason = messageOf(error);
    throw new ConfigError([{ key: '--config', source: 'flag', problem: `cannot read ${path}: ${reason}`, allowed: 'a readable YAML file' }]);
  }
}

interface Origin {
  source: ConfigSource;
  name: string;
}

export function loadSettings(input: SettingsInput): LoadedSettings {
  const issues: ConfigIssue[] = [];
  const notices: ConfigNotice[] = [];
  const origins = new Map<string, Origin>();
  const layers: SettingsLayer[] = [];
  let configFormat: ConfigFileFormat | undefined;

  if (input.configFile) {
    const parsed = parseConfigDocument(input.configFile);
    configFormat = parsed.format;
    if (parsed.format === 'KubeProxyConfiguration') {
      const mapped = layerFromKubeProxyConfiguration(parsed.document);
      notices.push(...mapped.notices);
      issues.push(...mapped.issues);
      const fieldOf = (key: string): string => mapped.fieldOf[key as ConfigKey] ?? key;
      const result = validateLayer(mapped.layer, 'kube-proxy config', fieldOf);
      issues.push(...result.issues);
      layers.push(result.layer);
      for (const key of Object.keys(mapped.layer)) origins.set(key, { source: 'kube-proxy config', name: fieldOf(key) });
    } else {
      const result = validateLayer(parsed.document, 'config file', (key) => key);
      issues.push(...result.issues);
      layers.push(result.layer);
      for (const key of Object.keys(parsed.document)) origins.set(key, { source: 'config file', name: key });
    }
  }

  const flagName = (key: string): string => optionSpec(key as ConfigKey).flag;
  const flags = validateLayer(input.flags, 'flag', flagName);
  issues.push(...flags.issues);
  layers.push(flags.layer);
  for (const [key, value] of Object.entries(input.flags)) {
    if (value !== undefined) origins.set(key, { source: 'flag', name: flagName(key) });
  }

  if (issues.length > 0) throw new ConfigError(issues, input.configFile?.path);

  const fallbackNode = input.env.NODE_NAME?.trim() || (input.hostname ?? osHostname()).trim().toLowerCase();
  let settings = defaultSettings(fallbackNode, input.isTTY);
  for (const layer of layers) settings = applyLayer(settings, layer);
  settings = withoutUnset(settings);

  settings = oneSource(settings, origins, notices);
  const crossIssues = crossCheck(settings, origins);
  if (crossIssues.length > 0) throw new ConfigError(crossIssues, input.configFile?.path);
  return { settings, notices, configFormat };
}

/** Drops optional keys left undefined, so equal settings compare equal however they were built. */
function withoutUnset(settings: Settings): Settings {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as unknown as Settings;
}

interface ParsedDocument {
  format: ConfigFileFormat;
  document: Record<string, unknown>;
}

function parseConfigDocument(file: ConfigFileText): ParsedDocument {
  const fail = (problem: string): never => {
    throw new ConfigError([
      {
        key: '--config',
        source: 'flag',
        problem: `${file.path}: ${problem}`,
        allowed: 'a YAML mapping of ipvs-proxy settings, or a kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration',
      },
    ]);
  };
  let document: unknown;
  try {
    document = yaml().parse(file.text);
  } catch (error) {
    return fail(messageOf(error));
  }
  if (document === null || document === undefined) return { format: 'ipvs-proxy', document: {} };
  if (typeof document !== 'object' || Array.isArray(document)) return fail('the document is not a mapping');
  const record = document as Record<string, unknown>;
  if (isKubeProxyConfiguration(record)) return { format: 'KubeProxyConfiguration', document: record };
  if ('apiVersion' in record || 'kind' in record) {
    return fail(`unsupported document ${String(record.apiVersion)} ${String(record.kind)}`);
  }
  return { format: 'ipvs-proxy', document: record };
}

function applyLayer(base: Settings, layer: SettingsLayer): Settings {
  const next: Settings = { ...base };
  const optional = (value: string | null | undefined, current: string | undefined): string | undefined =>
    value === undefined ? current : (value ?? undefined);
  next.kubeconfig = optional(layer.kubeconfig, base.kubeconfig);
  next.manifests = optional(layer.manifests, base.manifests);
  next.serviceProxyName = optional(layer.serviceProxyName, base.serviceProxyName);
  next.statusRedis = optional(layer.statusRedis, base.statusRedis);
  next.statusRedisPasswordFile = optional(layer.statusRedisPasswordFile, base.statusRedisPasswordFile);
  if (layer.nodeName) next.nodeName = layer.nodeName;
  if (layer.scheduler !== undefined) next.scheduler = layer.scheduler;
  if (layer.schedulerFlags !== undefined) next.schedulerFlags = layer.schedulerFlags;
  if (layer.syncPeriod !== undefined) next.syncPeriodMs = layer.syncPeriod;
  if (layer.minSyncPeriod !== undefined) next.minSyncPeriodMs = layer.minSyncPeriod;
  if (layer.nodeportAddresses !== undefined) next.nodePortAddresses = layer.nodeportAddresses;
  if (layer.nodeportRange !== undefined) next.nodePortRange = layer.nodeportRange;
  if (layer.serviceCidrs !== undefined) next.serviceCidrs = layer.serviceCidrs;
  if (layer.excludeCidrs !== undefined) next.excludeCidrs = layer.excludeCidrs;
  if (layer.strictArp !== undefined) next.strictArp = layer.strictArp;
  if (layer.vipMode !== undefined) next.vipMode = layer.vipMode;
  if (layer.tcpTimeout !== undefined) next.tcpTimeout = layer.tcpTimeout;
  if (layer.tcpfinTimeout !== undefined) next.tcpFinTimeout = layer.tcpfinTimeout;
  if (layer.udpTimeout !== undefined) next.udpTimeout = layer.udpTimeout;
  if (layer.gracefulTerminationTimeout !== undefined) next.gracefulTerminationTimeoutMs = layer.gracefulTerminationTimeout;
  if (layer.masqueradeAll !== undefined) next.masqueradeAll = layer.masqueradeAll;
  if (layer.clusterCidr !== undefined) next.clusterCidr = layer.clusterCidr;
  if (layer.masqueradeBit !== undefined) next.masqueradeBit = layer.masqueradeBit;
  if (layer.healthzBindAddress !== undefined) next.healthzBindAddress = layer.healthzBindAddress;
  if (layer.metricsBindAddress !== undefined) next.metricsBindAddress = layer.metricsBindAddress;
  if (layer.stateDir !== undefined) next.stateDir = layer.stateDir;
  if (layer.sysctlMode !== undefined) next.sysctlMode = layer.sysctlMode;
  if (layer.logLevel !== undefined) next.logLevel = layer.logLevel;
  if (layer.logFormat !== undefined) next.logFormat = layer.logFormat;
  return next;
}

/**
 * --manifests on the command line and a kubeconfig from the config file (kubeadm's kube-proxy
 * ConfigMap sets clientConnection.kubeconfig), or the other way round: the flag wins, as flags
 * do everywhere else, and a notice says what was set aside. Two flags, or one file naming both,
 * stay an error (crossCheck).
 */
function oneSource(settings: Settings, origins: Map<string, Origin>, notices: ConfigNotice[]): Settings {
  if (settings.kubeconfig === undefined || settings.manifests === undefined) return settings;
  const manifests = origins.get('manifests');
  const kubeconfig = origins.get('kubeconfig');
  const byFlag = (o: Origin | undefined): boolean => o?.source === 'flag';
  if (byFlag(manifests) === byFlag(kubeconfig)) return settings;
  const [winner, loser, drop] = byFlag(manifests) ? [manifests, kubeconfig, 'kubeconfig' as const] : [kubeconfig, manifests, 'manifests' as const];
  notices.push({
    field: loser?.name ?? drop,
    kind: 'warning',
    message: `${winner?.name} given on the command line: ${loser?.name} from the ${loser?.source} is not used (flags override the config file)`,
  });
  return { ...settings, [drop]: undefined };
}

/** Rules between keys, checked on the merged result and reported against where each value came from. */
function crossCheck(settings: Settings, origins: Map<string, Origin>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const blame = (key: ConfigKey, problem: string): void => {
    const origin = origins.get(key) ?? { source: 'flag' as const, name: optionSpec(key).flag };
    issues.push({ key: origin.name, source: origin.source, problem, allowed: optionSpec(key).allowed });
  };
  if (settings.minSyncPeriodMs > settings.syncPeriodMs) {
    blame('minSyncPeriod', `${settings.minSyncPeriodMs} ms is longer than the sync period (${settings.syncPeriodMs} ms)`);
  }
  for (const flag of settings.schedulerFlags) {
    const needs = flag.slice(0, 2);
    if (settings.scheduler !== needs) blame('schedulerFlags', `'${flag}' needs scheduler ${needs}, not ${settings.scheduler}`);
  }
  if (settings.kubeconfig !== undefined && settings.manifests !== undefined) {
    blame('manifests', 'cannot be combined with a kubeconfig: choose one source');
  }
  if (settings.nodeName === '') blame('nodeName', 'no node name: none given, NODE_NAME unset and no hostname');
  return issues;
}
