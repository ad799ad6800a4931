{{/* Generated from src/config (options.ts, duration.ts, kubeproxy.ts) by `npm run gen:chart-schema`: do not edit. */}}
{{- define "ipvs-proxy.options" -}}
{
  "keys": {
    "kubeconfig": {
      "flag": "--kubeconfig",
      "check": "text",
      "allowed": "a file path; empty means in-cluster config"
    },
    "manifests": {
      "flag": "--manifests",
      "check": "text",
      "allowed": "a file or directory path"
    },
    "nodeName": {
      "flag": "--node-name",
      "check": "text",
      "allowed": "a Kubernetes node name"
    },
    "serviceProxyName": {
      "flag": "--service-proxy-name",
      "check": "text",
      "allowed": "a label value"
    },
    "scheduler": {
      "flag": "--scheduler",
      "check": "oneOf",
      "allowed": "one of rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh, fo, ovf, twos",
      "what": "a known IPVS scheduler",
      "values": [
        "rr",
        "wrr",
        "lc",
        "wlc",
        "lblc",
        "lblcr",
        "sh",
        "dh",
        "sed",
        "nq",
        "mh",
        "fo",
        "ovf",
        "twos"
      ]
    },
    "schedulerFlags": {
      "flag": "--scheduler-flags",
      "check": "schedulerFlags",
      "allowed": "comma-separated, from sh-fallback, sh-port, mh-fallback, mh-port (sh-* with sh, mh-* with mh)"
    },
    "syncPeriod": {
      "flag": "--sync-period",
      "check": "positiveDuration",
      "allowed": "a duration above zero such as 30s or 1m",
      "what": "a duration above zero"
    },
    "minSyncPeriod": {
      "flag": "--min-sync-period",
      "check": "duration",
      "allowed": "a duration no longer than the sync period, such as 0s or 1s",
      "what": "a duration"
    },
    "nodeportAddresses": {
      "flag": "--nodeport-addresses",
      "check": "nodeportAddresses",
      "allowed": "comma-separated CIDRs such as 10.96.0.0/12,fd00:10:96::/112, or the single word primary"
    },
    "nodeportRange": {
      "flag": "--nodeport-range",
      "check": "portRange",
      "allowed": "two ports from 1 to 65535 as A-B with A <= B, such as 30000-32767",
      "what": "a port range"
    },
    "serviceCidrs": {
      "flag": "--service-cidrs",
      "check": "cidrList",
      "allowed": "comma-separated CIDRs such as 10.96.0.0/12,fd00:10:96::/112"
    },
    "excludeCidrs": {
      "flag": "--exclude-cidrs",
      "check": "cidrList",
      "allowed": "comma-separated CIDRs such as 10.96.0.0/12,fd00:10:96::/112"
    },
    "strictArp": {
      "flag": "--strict-arp",
      "check": "boolean",
      "allowed": "true or false",
      "what": "a boolean",
      "values": [
        true,
        false,
        "true",
        "false"
      ]
    },
    "vipMode": {
      "flag": "--vip-mode",
      "check": "oneOf",
      "allowed": "one of routes, addresses, both",
      "what": "a VIP mode",
      "values": [
        "routes",
        "addresses",
        "both"
      ]
    },
    "tcpTimeout": {
      "flag": "--tcp-timeout",
      "check": "wholeSeconds",
      "allowed": "a duration in whole seconds such as 900s or 15m; 0s leaves the kernel value",
      "what": "a duration in whole seconds"
    },
    "tcpfinTimeout": {
      "flag": "--tcpfin-timeout",
      "check": "wholeSeconds",
      "allowed": "a duration in whole seconds such as 900s or 15m; 0s leaves the kernel value",
      "what": "a duration in whole seconds"
    },
    "udpTimeout": {
      "flag": "--udp-timeout",
      "check": "wholeSeconds",
      "allowed": "a duration in whole seconds such as 900s or 15m; 0s leaves the kernel value",
      "what": "a duration in whole seconds"
    },
    "gracefulTerminationTimeout": {
      "flag": "--graceful-termination-timeout",
      "check": "duration",
      "allowed": "a duration such as 30s or 2m",
      "what": "a duration"
    },
    "masqueradeAll": {
      "flag": "--masquerade-all",
      "check": "boolean",
      "allowed": "true or false",
      "what": "a boolean",
      "values": [
        true,
        false,
        "true",
        "false"
      ]
    },
    "clusterCidr": {
      "flag": "--cluster-cidr",
      "check": "cidrList",
      "allowed": "comma-separated CIDRs such as 10.96.0.0/12,fd00:10:96::/112"
    },
    "masqueradeBit": {
      "flag": "--masquerade-bit",
      "check": "bit",
      "allowed": "an integer from 0 to 31",
      "what": "a bit number from 0 to 31"
    },
    "healthzBindAddress": {
      "flag": "--healthz-bind-address",
      "check": "bindAddress",
      "allowed": "an IP address and a port up to 65535, such as 0.0.0.0:10256 or [::]:10256",
      "what": "an IP address with a port"
    },
    "metricsBindAddress": {
      "flag": "--metrics-bind-address",
      "check": "bindAddress",
      "allowed": "an IP address and a port up to 65535, such as 127.0.0.1:10249 or [::1]:10249",
      "what": "an IP address with a port"
    },
    "stateDir": {
      "flag": "--state-dir",
      "check": "absolutePath",
      "allowed": "an absolute directory path",
      "what": "an absolute path"
    },
    "sysctlMode": {
      "flag": "--sysctl-mode",
      "check": "oneOf",
      "allowed": "one of write, check",
      "what": "a sysctl mode",
      "values": [
        "write",
        "check"
      ]
    },
    "logLevel": {
      "flag": "--log-level",
      "check": "oneOf",
      "allowed": "one of error, warn, info, debug",
      "what": "a log level",
      "values": [
        "error",
        "warn",
        "info",
        "debug"
      ]
    },
    "logFormat": {
      "flag": "--log-format",
      "check": "oneOf",
      "allowed": "one of json, text",
      "what": "a log format",
      "values": [
        "json",
        "text"
      ]
    },
    "statusRedis": {
      "flag": "--status-redis",
      "check": "redisUrl",
      "allowed": "a redis:// or rediss:// URL"
    },
    "statusRedisPasswordFile": {
      "flag": "--status-redis-password-file",
      "check": "text",
      "allowed": "a file path"
    }
  },
  "durationPattern": "^(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:ns|us|µs|μs|ms|s|m|h)(?:(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:ns|us|µs|μs|ms|s|m|h))*$",
  "schedulerFlags": [
    "sh-fallback",
    "sh-port",
    "mh-fallback",
    "mh-port"
  ],
  "kubeProxyApiVersion": "kubeproxy.config.k8s.io/v1alpha1",
  "kubeProxyFields": {
    "clientConnection.kubeconfig": {
      "key": "kubeconfig",
      "unsetWhen": "zero"
    },
    "hostnameOverride": {
      "key": "nodeName",
      "unsetWhen": "zero"
    },
    "healthzBindAddress": {
      "key": "healthzBindAddress",
      "unsetWhen": "empty",
      "defaultPort": 10256
    },
    "metricsBindAddress": {
      "key": "metricsBindAddress",
      "unsetWhen": "empty",
      "defaultPort": 10249
    },
    "clusterCIDR": {
      "key": "clusterCidr",
      "unsetWhen": "zero"
    },
    "nodePortAddresses": {
      "key": "nodeportAddresses",
      "unsetWhen": "null"
    },
    "iptables.masqueradeAll": {
      "key": "masqueradeAll",
      "unsetWhen": "null"
    },
    "iptables.masqueradeBit": {
      "key": "masqueradeBit",
      "unsetWhen": "null"
    },
    "ipvs.scheduler": {
      "key": "scheduler",
      "unsetWhen": "zero"
    },
    "ipvs.syncPeriod": {
      "key": "syncPeriod",
      "unsetWhen": "zero"
    },
    "ipvs.minSyncPeriod": {
      "key": "minSyncPeriod",
      "unsetWhen": "zero"
    },
    "ipvs.excludeCIDRs": {
      "key": "excludeCidrs",
      "unsetWhen": "null"
    },
    "ipvs.strictARP": {
      "key": "strictArp",
      "unsetWhen": "null"
    },
    "ipvs.tcpTimeout": {
      "key": "tcpTimeout",
      "unsetWhen": "null"
    },
    "ipvs.tcpFinTimeout": {
      "key": "tcpfinTimeout",
      "unsetWhen": "null"
    },
    "ipvs.udpTimeout": {
      "key": "udpTimeout",
      "unsetWhen": "null"
    }
  }
}
{{- end -}}
