{{- define "ipvs-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ipvs-proxy.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ipvs-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ipvs-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ipvs-proxy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ipvs-proxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ipvs-proxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ipvs-proxy.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ipvs-proxy.image" -}}
{{- $repository := required "image.repository is required: no public image is published; build one with the repository's Dockerfile, push it to a registry your nodes pull from, and set image.repository (charts/ipvs-proxy/README.md, The image)" .Values.image.repository -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The DaemonSets' update strategy. maxSurge is refused: the agent runs in the host network, so a
second pod on a node cannot bind the health and metrics ports the first one holds (it would never
become ready and the rollout would stall), and two agents would program one kernel at once.
The other rules are the API server's own, checked here so that `helm install` says so first.
*/}}
{{- define "ipvs-proxy.updateStrategy" -}}
{{- $strategy := .Values.updateStrategy -}}
{{- $type := $strategy.type | default "RollingUpdate" -}}
{{- if eq $type "OnDelete" -}}
type: OnDelete
{{- else -}}
{{- $rolling := $strategy.rollingUpdate | default dict -}}
{{- $maxUnavailable := get $rolling "maxUnavailable" -}}
{{- if kindIs "invalid" $maxUnavailable -}}{{- $maxUnavailable = 1 -}}{{- end -}}
{{- $maxSurge := get $rolling "maxSurge" | default 0 -}}
{{- if not (has (toString $maxSurge) (list "0" "0%")) -}}
{{- fail (printf "updateStrategy.rollingUpdate.maxSurge: %v cannot be used: the agent runs in the host network, so a second pod on a node cannot bind the health and metrics ports the first one holds and would never become ready; use maxUnavailable (or type OnDelete)" $maxSurge) -}}
{{- end -}}
{{- if has (toString $maxUnavailable) (list "0" "0%") -}}
{{- fail "updateStrategy.rollingUpdate.maxUnavailable: cannot be 0 when maxSurge is 0" -}}
{{- end -}}
type: RollingUpdate
rollingUpdate:
  maxUnavailable: {{ $maxUnavailable }}
  maxSurge: {{ $maxSurge }}
{{- end -}}
{{- end -}}

{{/* The agent's config file: kube-proxy's config.conf as-is when given, else .Values.config. */}}
{{- define "ipvs-proxy.configFile" -}}
{{- if .Values.kubeProxyConfig.config -}}
{{- .Values.kubeProxyConfig.config -}}
{{- else -}}
{{- toYaml .Values.config -}}
{{- end -}}
{{- end -}}

{{/* kube-proxy's config.conf parsed, or an empty map. */}}
{{- define "ipvs-proxy.kubeProxyConfig" -}}
{{- if .Values.kubeProxyConfig.config -}}
{{- toJson (fromYaml .Values.kubeProxyConfig.config) -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* host:port of a bind address setting, from whichever config file is in use. */}}
{{- define "ipvs-proxy.bindPort" -}}
{{- $ctx := index . 0 -}}
{{- $key := index . 1 -}}
{{- $default := index . 2 -}}
{{- $address := "" -}}
{{- if $ctx.Values.kubeProxyConfig.config -}}
{{- $address = get (include "ipvs-proxy.kubeProxyConfig" $ctx | fromJson) $key | default "" -}}
{{- else -}}
{{- $address = get $ctx.Values.config $key | default "" -}}
{{- end -}}
{{- regexFind "[0-9]+$" (regexFind ":[0-9]+$" (toString $address)) | default $default -}}
{{- end -}}

{{- define "ipvs-proxy.healthzPort" -}}
{{- include "ipvs-proxy.bindPort" (list . "healthzBindAddress" "10256") -}}
{{- end -}}

{{- define "ipvs-proxy.metricsPort" -}}
{{- include "ipvs-proxy.bindPort" (list . "metricsBindAddress" "10249") -}}
{{- end -}}

{{- define "ipvs-proxy.stateDir" -}}
{{- if .Values.kubeProxyConfig.config -}}
/var/lib/ipvs-proxy
{{- else -}}
{{- .Values.config.stateDir | default "/var/lib/ipvs-proxy" -}}
{{- end -}}
{{- end -}}

{{/* The kubeconfig path kube-proxy's config names, when it is to be mounted. */}}
{{- define "ipvs-proxy.kubeProxyKubeconfigPath" -}}
{{- $kp := include "ipvs-proxy.kubeProxyConfig" . | fromJson -}}
{{- $client := get $kp "clientConnection" | default dict -}}
{{- get $client "kubeconfig" | default "" -}}
{{- end -}}

{{- define "ipvs-proxy.redisEnabled" -}}
{{- if or .Values.statusRedis.url .Values.statusRedis.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "ipvs-proxy.redisSecretName" -}}
{{- .Values.statusRedis.existingSecret | default (printf "%s-status-redis" (include "ipvs-proxy.fullname" .)) -}}
{{- end -}}

{{- define "ipvs-proxy.redisUrlKey" -}}
{{- if .Values.statusRedis.existingSecret -}}{{ .Values.statusRedis.existingSecretUrlKey }}{{- else -}}url{{- end -}}
{{- end -}}

{{/* The Secret key holding the Redis password, or empty when there is none. */}}
{{- define "ipvs-proxy.redisPasswordKey" -}}
{{- if .Values.statusRedis.existingSecret -}}
{{- .Values.statusRedis.existingSecretPasswordKey -}}
{{- else if .Values.statusRedis.password -}}
password
{{- end -}}
{{- end -}}

{{/* Container security context: privileged like kubeadm's kube-proxy, or capabilities only. */}}
{{- define "ipvs-proxy.securityContext" -}}
{{- if eq .Values.securityContext.mode "privileged" -}}
privileged: true
{{- else -}}
privileged: false
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
  add:
    - NET_ADMIN
    - NET_RAW
    {{- if .Values.loadModules }}
    - SYS_MODULE
    {{- end }}
{{- end -}}
{{- end -}}

{{/* Pod-level settings shared by the agent and the cleanup DaemonSet. */}}
{{- define "ipvs-proxy.podPlacement" -}}
serviceAccountName: {{ include "ipvs-proxy.serviceAccountName" . }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
priorityClassName: {{ .Values.priorityClassName }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Host paths both DaemonSets mount. */}}
{{- define "ipvs-proxy.hostVolumes" -}}
- name: config
  configMap:
    name: {{ include "ipvs-proxy.fullname" . }}
- name: lib-modules
  hostPath:
    path: {{ .Values.hostPaths.modules }}
- name: xtables-lock
  hostPath:
    path: {{ .Values.hostPaths.xtablesLock }}
    type: FileOrCreate
- name: state
  hostPath:
    path: {{ include "ipvs-proxy.stateDir" . }}
    type: DirectoryOrCreate
{{- end -}}

{{- define "ipvs-proxy.hostVolumeMounts" -}}
- name: config
  mountPath: /etc/ipvs-proxy
  readOnly: true
- name: lib-modules
  mountPath: /lib/modules
  readOnly: true
- name: xtables-lock
  mountPath: /run/xtables.lock
- name: state
  mountPath: {{ include "ipvs-proxy.stateDir" . }}
{{- end -}}
