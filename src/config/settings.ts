// Every setting of the agent, after flags, config file and defaults are merged and validated.
// Durations are milliseconds. Parsing lives in src/config/ (flags, YAML, KubeProxyConfiguration).

export interface Settings {
  // source
  kubeconfig?: string;
  manifests?: string;
  nodeName: string;
  serviceProxyName?: string;
  // IPVS
  scheduler: string;
  /** Scheduler flags: 'sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'. */
  schedulerFlags: string[];
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  /** CIDRs, or the word 'primary'. Empty: every local non-loopback address except kube-ipvs0's. */
  nodePortAddresses: string[];
  nodePortRange: { min: number; max: number };
  serviceCidrs: string[];
  excludeCidrs: string[];
  strictArp: boolean;
  /** How VIPs are made local on kube-ipvs0: local routes, addresses (kube-proxy's way), or both. */
  vipMode: 'routes' | 'addresses' | 'both';
  /** IPVS timeouts in seconds; 0 leaves the kernel's value. */
  tcpTimeout: number;
  tcpFinTimeout: number;
  udpTimeout: number;
  gracefulTerminationTimeoutMs: number;
  // iptables
  masqueradeAll: boolean;
  clusterCidr: string[];
  masqueradeBit: number;
  // operations
  healthzBindAddress: string;
  metricsBindAddress: string;
  stateDir: string;
  /**
   * 'write': set the node sysctls the agent needs (privileged pods); 'check': only read them and
   * report the wrong ones (capabilities-only pods, where /proc/sys is read-only). Unset: 'write'.
   */
  sysctlMode?: 'write' | 'check';
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'json' | 'text';
  statusRedis?: string;
  statusRedisPasswordFile?: string;
}
