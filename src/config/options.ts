// The agent's settings as data: every key, its flag, help text, default and allowed values. Flags,
// config-file keys, help output and error messages are all derived from this one table.

import { DEFAULT_STATE_DIR } from './defaults.js';

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos'] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

export const SCHEDULER_FLAGS = ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'] as const;
export type SchedulerFlag = (typeof SCHEDULER_FLAGS)[number];

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LOG_FORMATS = ['json', 'text'] as const;
export const SYSCTL_MODES = ['write', 'check'] as const;
export const VIP_MODES = ['routes', 'addresses', 'both'] as const;

export const DEFAULT_HEALTHZ_PORT = 10256;
export const DEFAULT_METRICS_PORT = 10249;

/** Config-file keys: each flag's name in camelCase. */
export const CONFIG_KEYS = [
  'kubeconfig',
  'manifests',
  'nodeName',
  'serviceProxyName',
  'scheduler',
  'schedulerFlags',
  'syncPeriod',
  'minSyncPeriod',
  'nodeportAddresses',
  'nodeportRange',
  'serviceCidrs',
  'excludeCidrs',
  'strictArp',
  'vipMode',
  'tcpTimeout',
  'tcpfinTimeout',
  'udpTimeout',
  'gracefulTerminationTimeout',
  'masqueradeAll',
  'clusterCidr',
  'masqueradeBit',
  'healthzBindAddress',
  'metricsBindAddress',
  'stateDir',
  'sysctlMode',
  'logLevel',
  'logFormat',
  'statusRedis',
  'statusRedisPasswordFile',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

export type OptionKind = 'text' | 'boolean' | 'list';

export interface OptionSpec {
  key: ConfigKey;
  /** Long flag, e.g. '--sync-period'. */
  flag: string;
  kind: OptionKind;
  /** Placeholder in help, e.g. 'duration'. */
  valueName: string;
  description: string;
  /** Default as the user would write it; shown in help. */
  defaultText?: string;
  /** Accepted values in words, used in help and error messages. */
  allowed: string;
  /** kube-proxy's names for the same flag. */
  kubeProxyAliases?: readonly string[];
}

const CIDR_LIST = 'comma-separated CIDRs such as 10.96.0.0/12,fd00:10:96::/112';
const TIMEOUT = 'a duration in whole seconds such as 900s or 15m; 0s leaves the kernel value';

export const OPTION_SPECS: readonly OptionSpec[] = [
  {
    key: 'kubeconfig',
    flag: '--kubeconfig',
    kind: 'text',
    valueName: 'path',
    allowed: 'a file path; empty means in-cluster config',
    description: 'kubeconfig file of the API server (default: in-cluster config)',
  },
  {
    key: 'manifests',
    flag: '--manifests',
    kind: 'text',
    valueName: 'path',
    allowed: 'a file or directory path',
    description: 'read Services and EndpointSlices from YAML manifests instead of an API server',
  },
  {
    key: 'nodeName',
    flag: '--node-name',
    kind: 'text',
    valueName: 'name',
    allowed: 'a Kubernetes node name',
    description: 'name of this node (default: $NODE_NAME, then the hostname)',
    kubeProxyAliases: ['--hostname-override'],
  },
  {
    key: 'serviceProxyName',
    flag: '--service-proxy-name',
    kind: 'text',
    valueName: 'name',
    allowed: 'a label value',
    description: 'serve only Services labelled service.kubernetes.io/service-proxy-name=<name> (default: only unlabelled ones)',
  },
  {
    key: 'scheduler',
    flag: '--scheduler',
    kind: 'text',
    valueName: 'name',
    defaultText: 'rr',
    allowed: `one of ${SCHEDULERS.join(', ')}`,
    description: 'IPVS scheduler of every virtual server',
    kubeProxyAliases: ['--ipvs-scheduler'],
  },
  {
    key: 'schedulerFlags',
    flag: '--scheduler-flags',
    kind: 'list',
    valueName: 'flags',
    allowed: `comma-separated, from ${SCHEDULER_FLAGS.join(', ')} (sh-* with sh, mh-* with mh)`,
    description: 'IPVS scheduler flags',
  },
  {
    key: 'syncPeriod',
    flag: '--sync-period',
    kind: 'text',
    valueName: 'duration',
    defaultText: '30s',
    allowed: 'a duration above zero such as 30s or 1m',
    description: 'how often the kernel is read in full and drift repaired',
    kubeProxyAliases: ['--ipvs-sync-period'],
  },
  {
    key: 'minSyncPeriod',
    flag: '--min-sync-period',
    kind: 'text',
    valueName: 'duration',
    defaultText: '0s',
    allowed: 'a duration no longer than the sync period, such as 0s or 1s',
    description: 'minimum interval between syncs (0s: sync at once, coalescing what arrives meanwhile)',
    kubeProxyAliases: ['--ipvs-min-sync-period'],
  },
  {
    key: 'nodeportAddresses',
    flag: '--nodeport-addresses',
    kind: 'list',
    valueName: 'cidrs',
    allowed: `${CIDR_LIST}, or the single word primary`,
    description: 'node addresses NodePorts are served on (default: every local address)',
  },
  {
    key: 'nodeportRange',
    flag: '--nodeport-range',
    kind: 'text',
    valueName: 'range',
    defaultText: '30000-32767',
    allowed: 'two ports from 1 to 65535 as A-B with A <= B, such as 30000-32767',
    description: "the cluster's NodePort range, used to recognise node-port virtual servers to adopt",
  },
  {
    key: 'serviceCidrs',
    flag: '--service-cidrs',
    kind: 'list',
    valueName: 'cidrs',
    allowed: CIDR_LIST,
    description: "the cluster's Service ranges; virtual servers inside them are adopted",
  },
  {
    key: 'excludeCidrs',
    flag: '--exclude-cidrs',
    kind: 'list',
    valueName: 'cidrs',
    allowed: CIDR_LIST,
    description: 'virtual servers inside these ranges are never touched',
    kubeProxyAliases: ['--ipvs-exclude-cidrs'],
  },
  {
    key: 'strictArp',
    flag: '--strict-arp',
    kind: 'boolean',
    valueName: 'bool',
    defaultText: 'false',
    allowed: 'true or false',
    description: 'set arp_ignore=1 and arp_announce=2 (needed by MetalLB L2 and similar)',
    kubeProxyAliases: ['--ipvs-strict-arp'],
  },
  {
    key: 'vipMode',
    flag: '--vip-mode',
    kind: 'text',
    valueName: 'mode',
    defaultText: 'routes',
    allowed: `one of ${VIP_MODES.join(', ')}`,
    description:
      "how VIPs are made local on kube-ipvs0: local routes (linear kernel cost), addresses (kube-proxy's way, quadratic), or both (routes at once, addresses added behind them)",
  },
  {
    key: 'tcpTimeout',
    flag: '--tcp-timeout',
    kind: 'text',
    valueName: 'duration',
    defaultText: '0s',
    allowed: TIMEOUT,
    description: 'IPVS timeout of idle TCP connections',
    kubeProxyAliases: ['--ipvs-tcp-timeout'],
  },
  {
    key: 'tcpfinTimeout',
    flag: '--tcpfin-timeout',
    kind: 'text',
    valueName: 'duration',
    defaultText: '0s',
    allowed: TIMEOUT,
    description: 'IPVS timeout of TCP connections after FIN',
    kubeProxyAliases: ['--ipvs-tcpfin-timeout'],
  },
  {
    key: 'udpTimeout',
    flag: '--udp-timeout',
    kind: 'text',
    valueName: 'duration',
    defaultText: '0s',
    allowed: TIMEOUT,
    description: 'IPVS timeout of UDP flows',
    kubeProxyAliases: ['--ipvs-udp-timeout'],
  },
  {
    key: 'gracefulTerminationTimeout',
    flag: '--graceful-termination-timeout',
    kind: 'text',
    valueName: 'duration',
    defaultText: '30s',
    allowed: 'a duration such as 30s or 2m',
    description: 'longest drain of a TCP real server that is going away',
  },
  {
    key: 'masqueradeAll',
    flag: '--masquerade-all',
    kind: 'boolean',
    valueName: 'bool',
    defaultText: 'false',
    allowed: 'true or false',
    description: 'SNAT all traffic sent to Service addresses',
  },
  {
    key: 'clusterCidr',
    flag: '--cluster-cidr',
    kind: 'list',
    valueName: 'cidrs',
    allowed: CIDR_LIST,
    description: 'the Pod ranges; traffic to Services from outside them is masqueraded',
  },
  {
    key: 'masqueradeBit',
    flag: '--masquerade-bit',
    kind: 'text',
    valueName: 'bit',
    defaultText: '14',
    allowed: 'an integer from 0 to 31',
    description: 'fwmark bit that marks packets to masquerade',
    kubeProxyAliases: ['--iptables-masquerade-bit'],
  },
  {
    key: 'healthzBindAddress',
    flag: '--healthz-bind-address',
    kind: 'text',
    valueName: 'host:port',
    defaultText: '0.0.0.0:10256',
    allowed: 'an IP address and a port up to 65535, such as 0.0.0.0:10256 or [::]:10256',
    description: 'address of the /healthz and /livez endpoints',
  },
  {
    key: 'metricsBindAddress',
    flag: '--metrics-bind-address',
    kind: 'text',
    valueName: 'host:port',
    defaultText: '127.0.0.1:10249',
    allowed: 'an IP address and a port up to 65535, such as 127.0.0.1:10249 or [::1]:10249',
    description: 'address of the Prometheus /metrics endpoint',
  },
  {
    key: 'stateDir',
    flag: '--state-dir',
    kind: 'text',
    valueName: 'path',
    defaultText: DEFAULT_STATE_DIR,
    allowed: 'an absolute directory path',
    description: 'where the record of what the agent owns is kept',
  },
  {
    key: 'sysctlMode',
    flag: '--sysctl-mode',
    kind: 'text',
    valueName: 'mode',
    defaultText: 'write',
    allowed: `one of ${SYSCTL_MODES.join(', ')}`,
    description: 'write the node sysctls IPVS needs, or only check them and report the wrong ones (for pods without privileged)',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    kind: 'text',
    valueName: 'level',
    defaultText: 'info',
    allowed: `one of ${LOG_LEVELS.join(', ')}`,
    description: 'log verbosity',
  },
  {
    key: 'logFormat',
    flag: '--log-format',
    kind: 'text',
    valueName: 'format',
    defaultText: 'json, or text on a terminal',
    allowed: `one of ${LOG_FORMATS.join(', ')}`,
    description: 'log line format',
  },
  {
    key: 'statusRedis',
    flag: '--status-redis',
    kind: 'text',
    valueName: 'url',
    allowed: 'a redis:// or rediss:// URL',
    description: "Redis that receives this node's sync status for the fleet view",
  },
  {
    key: 'statusRedisPasswordFile',
    flag: '--status-redis-password-file',
    kind: 'text',
    valueName: 'path',
    allowed: 'a file path',
    description: 'file holding the status Redis password',
  },
];

export function optionSpec(key: ConfigKey): OptionSpec {
  const spec = OPTION_SPECS.find((candidate) => candidate.key === key);
  if (!spec) throw new RangeError(`no option spec for ${key}`);
  return spec;
}

/** '--sync-period' -> 'syncPeriod'; commander names option values the same way. */
export function camelCaseOfFlag(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}
