// kube-proxy's own configuration file (kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration),
// as kubeadm writes it into the kube-proxy ConfigMap, mapped onto our config keys. Zero and empty
// values mean "default", as they do for kube-proxy. Fields without a meaning here come back as
// notices, each once and by name; the caller decides how to log them.
import { ConfigIssue, cutForMessage } from './errors.js';
import { formatBindAddress, parseBindAddress } from './network.js';
import { ConfigKey, DEFAULT_HEALTHZ_PORT, DEFAULT_METRICS_PORT } from './options.js';
import { RawLayer } from './schema.js';

export const KUBE_PROXY_API_GROUP = 'kubeproxy.config.k8s.io';
export const KUBE_PROXY_API_VERSION = `${KUBE_PROXY_API_GROUP}/v1alpha1`;

export interface ConfigNotice {
  /** The field path, e.g. 'conntrack.maxPerCore'. */
  field: string;
  /** ignored: known to kube-proxy, no meaning here; unknown: not a kube-proxy field; warning: needs a look. */
  kind: 'ignored' | 'unknown' | 'warning';
  message: string;
}

export interface KubeProxyMapping {
  /** Our config keys with the values found, ready for validation. */
  layer: RawLayer;
  /** For each key set in layer, the kube-proxy field it came from (for error messages). */
  fieldOf: Partial<Record<ConfigKey, string>>;
  notices: ConfigNotice[];
  /** Structural problems (a section that is not a mapping, an unsupported version). */
  issues: ConfigIssue[];
}

/** True for any kubeproxy.config.k8s.io document; the version is checked when mapping. */
export function isKubeProxyConfiguration(document: Record<string, unknown>): boolean {
  return document.kind === 'KubeProxyConfiguration' || (typeof document.apiVersion === 'string' && document.apiVersion.startsWith(`${KUBE_PROXY_API_GROUP}/`));
}

type Convert = (value: unknown) => unknown;

interface MappedField {
  key: ConfigKey;
  /** Turns the kube-proxy value into what our key accepts; undefined means "default". */
  convert?: Convert;
}

const emptyMeansDefault: Convert = (value) => (isEmptyValue(value) ? undefined : value);
const nullMeansDefault: Convert = (value) => (value === null ? undefined : value);

function bindAddressWithDefaultPort(port: number): Convert {
  return (value) => {
    if (value === null || value === '') return undefined;
    if (typeof value !== 'string') return value;
    const parsed = parseBindAddress(value, port);
    // An unparsable value goes through unchanged so validation rejects it under the field's name.
    return parsed ? formatBindAddress(parsed) : value;
  };
}

const MAPPED: Record<string, MappedField> = {
  'clientConnection.kubeconfig': { key: 'kubeconfig', convert: emptyMeansDefault },
  hostnameOverride: { key: 'nodeName', convert: emptyMeansDefault },
  healthzBindAddress: { key: 'healthzBindAddress', convert: bindAddressWithDefaultPort(DEFAULT_HEALTHZ_PORT) },
  metricsBindAddress: { key: 'metricsBindAddress', convert: bindAddressWithDefaultPort(DEFAULT_METRICS_PORT) },
  clusterCIDR: { key: 'clusterCidr', convert: emptyMeansDefault },
  nodePortAddresses: { key: 'nodeportAddresses', convert: nullMeansDefault },
  'iptables.masqueradeAll': { key: 'masqueradeAll', convert: nullMeansDefault },
  'iptables.masqueradeBit': { key: 'masqueradeBit', convert: nullMeansDefault },
  'ipvs.scheduler': { key: 'scheduler', convert: emptyMeansDefault },
  'ipvs.syncPeriod': { key: 'syncPeriod', convert: emptyMeansDefault },
  'ipvs.minSyncPeriod': { key: 'minSyncPeriod', convert: emptyMeansDefault },
  'ipvs.excludeCIDRs': { key: 'excludeCidrs', convert: nullMeansDefault },
  'ipvs.strictARP': { key: 'strictArp', convert: nullMeansDefault },
  'ipvs.tcpTimeout': { key: 'tcpTimeout', convert: nullMeansDefault },
  'ipvs.tcpFinTimeout': { key: 'tcpfinTimeout', convert: nullMeansDefault },
  'ipvs.udpTimeout': { key: 'udpTimeout', convert: nullMeansDefault },
};

/**
 * The mapped fields as data for the Helm chart's own checks: our key, which values mean "default"
 * ('zero': kube-proxy's zero values, 'null': only null, 'empty': null or ''), and for the bind
 * addresses the port a bare IP gets.
 */
export const KUBE_PROXY_FIELDS = Object.fromEntries(
  Object.entries(MAPPED).map(([field, mapped]) => {
    const unsetWhen = mapped.convert === emptyMeansDefault ? 'zero' : mapped.convert === nullMeansDefault ? 'null' : 'empty';
    const port = mapped.key === 'healthzBindAddress' ? DEFAULT_HEALTHZ_PORT : mapped.key === 'metricsBindAddress' ? DEFAULT_METRICS_PORT : undefined;
    return [field, { key: mapped.key, unsetWhen, ...(port !== undefined ? { defaultPort: port } : {}) }];
  }),
);

/** Fields kube-proxy knows that do nothing here, with the reason given to the user. */
const IGNORED: Record<string, string> = {
  featureGates: 'kube-proxy feature gates do not apply to ipvs-proxy',
  bindAddress: 'ipvs-proxy takes node addresses from the node itself',
  bindAddressHardFail: 'ipvs-proxy always fails when it cannot bind',
  enableProfiling: 'ipvs-proxy has no profiling endpoint',
  showHiddenMetricsForVersion: 'ipvs-proxy has no hidden metrics',
  oomScoreAdj: 'set the OOM score through the pod spec',
  portRange: 'obsolete in kube-proxy too',
  configSyncPeriod: 'ipvs-proxy watches continuously',
  detectLocalMode: 'ipvs-proxy detects local traffic by --cluster-cidr',
  'detectLocal.bridgeInterface': 'ipvs-proxy detects local traffic by --cluster-cidr',
  'detectLocal.interfaceNamePrefix': 'ipvs-proxy detects local traffic by --cluster-cidr',
  windowsRunAsService: 'Windows only',
  logging: 'use --log-level and --log-format',
  'clientConnection.acceptContentTypes': 'ipvs-proxy chooses its own content types',
  'clientConnection.contentType': 'ipvs-proxy chooses its own content types',
  'clientConnection.qps': 'ipvs-proxy uses watches, not polling',
  'clientConnection.burst': 'ipvs-proxy uses watches, not polling',
  'iptables.localhostNodePorts': 'NodePorts on localhost are an iptables-mode feature',
  'iptables.syncPeriod': 'in IPVS mode the sync period is ipvs.syncPeriod',
  'iptables.minSyncPeriod': 'in IPVS mode the minimum sync period is ipvs.minSyncPeriod',
  'nftables.masqueradeAll': 'nftables mode only',
  'nftables.masqueradeBit': 'nftables mode only',
  'nftables.syncPeriod': 'nftables mode only',
  'nftables.minSyncPeriod': 'nftables mode only',
  'winkernel.networkName': 'Windows only',
  'winkernel.sourceVip': 'Windows only',
  'winkernel.enableDSR': 'Windows only',
  'winkernel.rootHnsEndpointName': 'Windows only',
  'winkernel.forwardHealthCheckVip': 'Windows only',
  'conntrack.maxPerCore': 'ipvs-proxy does not tune conntrack; set nf_conntrack_max on the node',
  'conntrack.min': 'ipvs-proxy does not tune conntrack; set nf_conntrack_max on the node',
  'conntrack.tcpEstablishedTimeout': 'ipvs-proxy does not tune conntrack timeouts',
  'conntrack.tcpCloseWaitTimeout': 'ipvs-proxy does not tune conntrack timeouts',
  'conntrack.tcpBeLiberal': 'ipvs-proxy does not tune conntrack',
  'conntrack.udpTimeout': 'ipvs-proxy does not tune conntrack timeouts',
  'conntrack.udpStreamTimeout': 'ipvs-proxy does not tune conntrack timeouts',
};

const SECTIONS = new Set(['clientConnection', 'iptables', 'ipvs', 'nftables', 'winkernel', 'conntrack', 'detectLocal']);
const TOP_LEVEL_HANDLED = new Set(['apiVersion', 'kind', 'mode']);

/**
 * kube-proxy's zero values: null, '', false, 0, '0', '0s', empty lists and mappings of such values.
 * An ignored field holding one of them changes nothing in kube-proxy either, so it is not reported.
 */
export function isEmptyValue(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === false || value === 0) return true;
  if (value === '0' || value === '0s') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every(isEmptyValue);
  return false;
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function layerFromKubeProxyConfiguration(document: Record<string, unknown>): KubeProxyMapping {
  const mapping: KubeProxyMapping = { layer: {}, fieldOf: {}, notices: [], issues: [] };
  const issue = (field: string, problem: string, allowed: string): void => {
    mapping.issues.push({ key: field, source: 'kube-proxy config', problem, allowed });
  };

  if (document.apiVersion !== KUBE_PROXY_API_VERSION) {
    issue('apiVersion', `${cutForMessage(String(JSON.stringify(document.apiVersion)))} is not supported`, KUBE_PROXY_API_VERSION);
  }
  if (document.kind !== 'KubeProxyConfiguration') {
    issue('kind', `${cutForMessage(String(JSON.stringify(document.kind)))} is not supported`, 'KubeProxyConfiguration');
  }
  const mode = document.mode;
  if (mode !== undefined && mode !== null && mode !== '' && mode !== 'ipvs') {
    mapping.notices.push({
      field: 'mode',
      kind: 'warning',
      message: `mode ${cutForMessage(String(JSON.stringify(mode)))} ignored: ipvs-proxy always programs IPVS; the ipvs section applies`,
    });
  }

  const visit = (field: string, value: unknown): void => {
    const mapped = MAPPED[field];
    if (mapped) {
      const converted = mapped.convert ? mapped.convert(value) : value;
      if (converted !== undefined) {
        mapping.layer[mapped.key] = converted;
        mapping.fieldOf[mapped.key] = field;
      }
      return;
    }
    const reason = IGNORED[field];
    if (reason !== undefined) {
      if (!isEmptyValue(value)) mapping.notices.push({ field, kind: 'ignored', message: `${field} ignored: ${reason}` });
      return;
    }
    mapping.notices.push({ field, kind: 'unknown', message: `${field} is not a KubeProxyConfiguration field; ignored` });
  };

  for (const [name, value] of Object.entries(document)) {
    if (TOP_LEVEL_HANDLED.has(name)) continue;
    if (!SECTIONS.has(name)) {
      visit(name, value);
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isMapping(value)) {
      issue(name, `${cutForMessage(String(JSON.stringify(value)))} is not a mapping`, `a mapping of ${name} fields`);
      continue;
    }
    for (const [child, childValue] of Object.entries(value)) visit(`${name}.${child}`, childValue);
  }
  return mapping;
}
