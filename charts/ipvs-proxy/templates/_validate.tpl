{{/*
The agent's own checks of its config file, made at install so that a value the agent would refuse
(and every pod crash-loop on) is refused by `helm install` instead, with the agent's message.
values.schema.json (generated from the agent) checks keys and types; this checks what a JSON
Schema cannot say: syntax (durations, CIDRs, ports), ranges, and rules between keys. The words
and key table come from _options.tpl, generated from the agent's option table. Flags in extraArgs
are checked by the agent only (`ipvs-proxy run --check-config`).
*/}}
{{- define "ipvs-proxy.validate" -}}
{{- $o := include "ipvs-proxy.options" . | fromJson -}}
{{- $issues := list -}}
{{- $settings := dict -}}
{{- if .Values.kubeProxyConfig.config -}}
{{- $doc := fromYaml .Values.kubeProxyConfig.config -}}
{{- $allowedDoc := printf "kube-proxy's config.conf: a %s KubeProxyConfiguration" $o.kubeProxyApiVersion -}}
{{- if hasKey $doc "Error" -}}
{{- $problem := ternary "the document is not a mapping" (toString (get $doc "Error")) (contains "cannot unmarshal" (toString (get $doc "Error"))) -}}
{{- $issues = append $issues (printf "kubeProxyConfig.config: %s; allowed: %s" $problem $allowedDoc) -}}
{{- else if not (or (eq (toString (get $doc "kind")) "KubeProxyConfiguration") (hasPrefix "kubeproxy.config.k8s.io/" (toString (get $doc "apiVersion")))) -}}
{{- $issues = append $issues (printf "kubeProxyConfig.config: not a KubeProxyConfiguration (apiVersion %s, kind %s); allowed: %s" (toJson (get $doc "apiVersion")) (toJson (get $doc "kind")) $allowedDoc) -}}
{{- else -}}
{{- if ne (toString (get $doc "apiVersion")) $o.kubeProxyApiVersion -}}
{{- $issues = append $issues (printf "kubeProxyConfig.config: apiVersion: %s is not supported; allowed: %s" (toJson (get $doc "apiVersion")) $o.kubeProxyApiVersion) -}}
{{- end -}}
{{- if ne (toString (get $doc "kind")) "KubeProxyConfiguration" -}}
{{- $issues = append $issues (printf "kubeProxyConfig.config: kind: %s is not supported; allowed: KubeProxyConfiguration" (toJson (get $doc "kind"))) -}}
{{- end -}}
{{- range $section := list "clientConnection" "iptables" "ipvs" "nftables" "winkernel" "conntrack" "detectLocal" -}}
{{- $value := get $doc $section -}}
{{- if and (not (kindIs "invalid" $value)) (not (kindIs "map" $value)) -}}
{{- $issues = append $issues (printf "kubeProxyConfig.config: %s: %s is not a mapping; allowed: a mapping of %s fields" $section (toJson $value) $section) -}}
{{- end -}}
{{- end -}}
{{- range $field, $rule := $o.kubeProxyFields -}}
{{- $value := $doc -}}
{{- range splitList "." $field -}}
{{- $value = ternary (get $value .) nil (kindIs "map" $value) -}}
{{- end -}}
{{- $unset := kindIs "invalid" $value -}}
{{- if eq $rule.unsetWhen "zero" -}}
{{- $unset = or $unset (empty $value) (has (toString $value) (list "0" "0s")) -}}
{{- else if eq $rule.unsetWhen "empty" -}}
{{- $unset = or $unset (eq (toString $value) "") -}}
{{- end -}}
{{- if not $unset -}}
{{- if and (hasKey $rule "defaultPort") (kindIs "string" $value) (regexMatch "^([0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$" (trim $value)) -}}
{{- $value = printf "%s:%v" (ternary (printf "[%s]" (trim $value)) (trim $value) (contains ":" $value)) $rule.defaultPort -}}
{{- end -}}
{{- $_ := set $settings $rule.key (dict "value" $value "name" (printf "kubeProxyConfig.config: %s" $field)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- range $key, $value := .Values.config -}}
{{- if not (kindIs "invalid" $value) -}}
{{- $_ := set $settings $key (dict "value" $value "name" (printf "config.%s" $key)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The status Redis URL reaches the agent as --status-redis, from a Secret the chart writes. */ -}}
{{- with .Values.statusRedis.url -}}
{{- $_ := set $settings "statusRedis" (dict "value" . "name" "statusRedis.url") -}}
{{- end -}}

{{- /* Each key as schema.ts parses it. */ -}}
{{- $ms := dict -}}
{{- range $key, $entry := $settings -}}
{{- $rule := get $o.keys $key -}}
{{- $value := $entry.value -}}
{{- $text := trim (toString $value) -}}
{{- $items := list -}}
{{- range (kindIs "slice" $value | ternary $value (list $value)) -}}
{{- range splitList "," (toString .) -}}
{{- if trim . -}}{{- $items = append $items (trim .) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $problem := "" -}}
{{- $check := $rule.check -}}
{{- if and (has $check (list "text" "oneOf" "duration" "positiveDuration" "wholeSeconds" "boolean" "portRange" "bit" "bindAddress" "absolutePath")) (or (kindIs "slice" $value) (kindIs "map" $value)) -}}
{{- $problem = printf "%s has the wrong type" (toJson $value) -}}
{{- else if eq $check "oneOf" -}}
{{- if not (has $text $rule.values) -}}{{- $problem = printf "'%s' is not %s" $text $rule.what -}}{{- end -}}
{{- else if has $check (list "duration" "positiveDuration" "wholeSeconds") -}}
{{- $d := include "ipvs-proxy.durationMs" (dict "text" $text "pattern" $o.durationPattern) -}}
{{- $bad := eq $d "" -}}
{{- if and (not $bad) (eq $check "positiveDuration") -}}{{- $bad = le (float64 $d) 0.0 -}}{{- end -}}
{{- if and (not $bad) (eq $check "wholeSeconds") -}}{{- $bad = or (contains "." $d) (ne (mod (int64 $d) 1000) 0) -}}{{- end -}}
{{- if $bad -}}
{{- $problem = printf "'%s' is not %s" $text $rule.what -}}
{{- else -}}
{{- $_ := set $ms $key $d -}}
{{- end -}}
{{- else if eq $check "boolean" -}}
{{- if not (has $text (list "true" "false")) -}}{{- $problem = printf "'%s' is not %s" $text $rule.what -}}{{- end -}}
{{- else if eq $check "bit" -}}
{{- if not (and (regexMatch "^[0-9]+$" $text) (le (atoi $text) 31)) -}}{{- $problem = printf "'%s' is not %s" $text $rule.what -}}{{- end -}}
{{- else if eq $check "portRange" -}}
{{- $ok := regexMatch "^\\s*[0-9]{1,5}\\s*-\\s*[0-9]{1,5}\\s*$" $text -}}
{{- if $ok -}}
{{- $low := atoi (regexReplaceAll "^\\s*([0-9]+).*$" $text "${1}") -}}
{{- $high := atoi (regexReplaceAll "^.*-\\s*([0-9]+)\\s*$" $text "${1}") -}}
{{- $ok = and (ge $low 1) (le $high 65535) (le $low $high) -}}
{{- end -}}
{{- if not $ok -}}{{- $problem = printf "'%s' is not %s" $text $rule.what -}}{{- end -}}
{{- else if eq $check "bindAddress" -}}
{{- if not (include "ipvs-proxy.isBindAddress" $text) -}}{{- $problem = printf "'%s' is not %s" $text $rule.what -}}{{- end -}}
{{- else if eq $check "absolutePath" -}}
{{- if not (hasPrefix "/" $text) -}}{{- $problem = printf "'%s' is not %s" $text $rule.what -}}{{- end -}}
{{- else if eq $check "redisUrl" -}}
{{- if and $text (not (regexMatch "^rediss?://[^/?#]+" $text)) -}}{{- $problem = printf "'%s' is not a redis:// or rediss:// URL" $text -}}{{- end -}}
{{- else if eq $check "cidrList" -}}
{{- range $items -}}
{{- if not (include "ipvs-proxy.isCidr" .) -}}{{- $issues = append $issues (printf "%s: '%s' is not a CIDR; allowed: %s" $entry.name . $rule.allowed) -}}{{- end -}}
{{- end -}}
{{- else if eq $check "nodeportAddresses" -}}
{{- if has "primary" $items -}}
{{- if gt (len $items) 1 -}}{{- $problem = "'primary' cannot be combined with CIDRs" -}}{{- end -}}
{{- else -}}
{{- range $items -}}
{{- if not (include "ipvs-proxy.isCidr" .) -}}{{- $issues = append $issues (printf "%s: '%s' is neither a CIDR nor 'primary'; allowed: %s" $entry.name . $rule.allowed) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- else if eq $check "schedulerFlags" -}}
{{- $bad := list -}}
{{- range $items -}}{{- if not (has . $o.schedulerFlags) -}}{{- $bad = append $bad (printf "'%s'" .) -}}{{- end -}}{{- end -}}
{{- if $bad -}}{{- $problem = printf "%s %s not valid" (join ", " $bad) (ternary "is" "are" (eq (len $bad) 1)) -}}{{- end -}}
{{- end -}}
{{- if $problem -}}
{{- $issues = append $issues (printf "%s: %s; allowed: %s" $entry.name $problem $rule.allowed) -}}
{{- end -}}
{{- end -}}

{{- /* Rules between keys, on the merged result, as load.ts checks them. */ -}}
{{- if not $issues -}}
{{- $sync := float64 (get $ms "syncPeriod" | default "30000") -}}
{{- $min := float64 (get $ms "minSyncPeriod" | default "0") -}}
{{- if gt $min $sync -}}
{{- $issues = append $issues (printf "%s: %s ms is longer than the sync period (%s ms); allowed: %s" (get $settings "minSyncPeriod").name (get $ms "minSyncPeriod") (get $ms "syncPeriod" | default "30000") $o.keys.minSyncPeriod.allowed) -}}
{{- end -}}
{{- $scheduler := "rr" -}}
{{- with get $settings "scheduler" -}}{{- $scheduler = trim (toString .value) -}}{{- end -}}
{{- with get $settings "schedulerFlags" -}}
{{- $entry := . -}}
{{- $seen := list -}}
{{- range (kindIs "slice" .value | ternary .value (list .value)) -}}
{{- range splitList "," (toString .) -}}
{{- $flag := trim . -}}
{{- if and $flag (not (has $flag $seen)) -}}
{{- $seen = append $seen $flag -}}
{{- $needs := substr 0 2 $flag -}}
{{- if ne $scheduler $needs -}}
{{- $issues = append $issues (printf "%s: '%s' needs scheduler %s, not %s; allowed: %s" $entry.name $flag $needs $scheduler $o.keys.schedulerFlags.allowed) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $kubeconfig := get $settings "kubeconfig" -}}
{{- $manifests := get $settings "manifests" -}}
{{- if and $kubeconfig $manifests (trim (toString $kubeconfig.value)) (trim (toString $manifests.value)) -}}
{{- $issues = append $issues (printf "%s: cannot be combined with a kubeconfig: choose one source; allowed: %s" $manifests.name $o.keys.manifests.allowed) -}}
{{- end -}}
{{- end -}}
{{- if $issues -}}
{{- $head := ternary "invalid configuration:" (printf "invalid configuration (%d problems):" (len $issues)) (eq (len $issues) 1) -}}
{{- fail (printf "%s\n  %s" $head (join "\n  " $issues)) -}}
{{- end -}}
{{- end -}}

{{/* Milliseconds of a duration in Go's syntax (as src/config/duration.ts reads it), or "" when it is not one. */}}
{{- define "ipvs-proxy.durationMs" -}}
{{- if eq .text "0" -}}0
{{- else if regexMatch .pattern .text -}}
{{- $units := dict "ns" 0.000001 "us" 0.001 "µs" 0.001 "μs" 0.001 "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)" .text -1 -}}
{{- $unit := regexFind "(ns|us|µs|μs|ms|s|m|h)$" . -}}
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (get $units $unit)) -}}
{{- end -}}
{{- if eq (floor $total) $total -}}{{ int64 $total }}{{- else -}}{{ $total }}{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ipvs-proxy.isIPv4" -}}
{{- if regexMatch "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$" . -}}true{{- end -}}
{{- end -}}

{{- define "ipvs-proxy.isIPv6" -}}
{{- $groups := "[0-9a-fA-F]{1,4}" -}}
{{- $v4tail := "((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])" -}}
{{- $text := . -}}
{{- if regexMatch (printf "^[0-9a-fA-F:.]+$") $text -}}
{{- $full := regexMatch (printf "^(%s:){7}%s$|^(%s:){6}%s$" $groups $groups $groups $v4tail) $text -}}
{{- $compressed := and (eq (len (regexFindAll "::" $text -1)) 1) (regexMatch (printf "^((%s:)*%s)?::((%s:)*(%s|%s))?$" $groups $groups $groups $groups $v4tail) $text) -}}
{{- $parts := len (regexFindAll $groups (regexReplaceAll $v4tail $text "0:0") -1) -}}
{{- if or $full (and $compressed (le $parts 7)) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ipvs-proxy.isCidr" -}}
{{- $address := regexReplaceAll "/[0-9]+$" . "" -}}
{{- $prefix := regexFind "/[0-9]{1,3}$" . | trimPrefix "/" -}}
{{- if and $prefix (ne $address .) -}}
{{- if and (include "ipvs-proxy.isIPv4" $address) (le (atoi $prefix) 32) -}}true
{{- else if and (include "ipvs-proxy.isIPv6" $address) (le (atoi $prefix) 128) -}}true
{{- end -}}
{{- end -}}
{{- end -}}

{{/* host:port with an IPv4 host, or [host]:port (IPv6, or IPv4 as Go accepts it); port up to 65535. */}}
{{- define "ipvs-proxy.isBindAddress" -}}
{{- $host := "" -}}
{{- $port := "" -}}
{{- if regexMatch "^\\[[^\\]]+\\]:[0-9]{1,5}$" . -}}
{{- $host = regexReplaceAll "^\\[([^\\]]+)\\]:[0-9]+$" . "${1}" -}}
{{- /* An IPv6 zone (fe80::1%eth0) is the agent's too. */ -}}
{{- $host = ternary (regexReplaceAll "%[0-9a-zA-Z]+$" $host "") $host (contains ":" $host) -}}
{{- $port = regexFind "[0-9]+$" . -}}
{{- if not (or (include "ipvs-proxy.isIPv6" $host) (include "ipvs-proxy.isIPv4" $host)) -}}{{- $host = "" -}}{{- end -}}
{{- else if regexMatch "^[0-9.]+:[0-9]{1,5}$" . -}}
{{- $host = regexReplaceAll ":[0-9]+$" . "" -}}
{{- $port = regexFind "[0-9]+$" . -}}
{{- if not (include "ipvs-proxy.isIPv4" $host) -}}{{- $host = "" -}}{{- end -}}
{{- end -}}
{{- if and $host $port (le (atoi $port) 65535) -}}true{{- end -}}
{{- end -}}
