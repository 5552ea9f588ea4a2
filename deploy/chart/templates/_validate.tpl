{{/* Rules across values that values.schema.json cannot express; each failure says what to change. */}}
{{- define "tsgw.validate" -}}
{{- $q := .Values.envoyGateway.extensionManager.maxMessageSize | toString }}
{{- $n := regexFind "^[0-9]+" $q | int64 }}
{{- $unit := trimPrefix (regexFind "^[0-9]+" $q) $q }}
{{- $mult := get (dict "" 1 "K" 1000 "Ki" 1024 "M" 1000000 "Mi" 1048576) $unit | int64 }}
{{- $bytes := mul $n $mult }}
{{- if and .Values.extension.enabled (gt $bytes (.Values.extension.maxMessageBytes | int64)) }}
{{- fail (printf "envoyGateway.extensionManager.maxMessageSize (%s = %d bytes) exceeds extension.maxMessageBytes (%d): Envoy Gateway would send requests the extension server refuses. Raise extension.maxMessageBytes or lower maxMessageSize." $q $bytes (.Values.extension.maxMessageBytes | int64)) }}
{{- end }}
{{- if and .Values.temporal.apiKey.secretName (not .Values.temporal.apiKey.secretKey) }}
{{- fail "temporal.apiKey.secretKey is empty: name the key of the API key in Secret temporal.apiKey.secretName" }}
{{- end }}
{{- if eq (.Values.extension.grpcPort | int) (.Values.extension.httpPort | int) }}
{{- fail (printf "extension.grpcPort and extension.httpPort are both %v: the gRPC and HTTP servers need different ports" .Values.extension.grpcPort) }}
{{- end }}
{{- $le := .Values.watchers.leaderElection }}
{{- if and (gt (.Values.watchers.replicas | int) 1) (not $le.enabled) }}
{{- fail (printf "watchers.replicas is %v but watchers.leaderElection.enabled is false: without leader election every replica would signal every change. Enable leader election or set replicas to 1." .Values.watchers.replicas) }}
{{- end }}
{{- if and $le.enabled (ge ($le.renewDeadlineSeconds | int) ($le.leaseDurationSeconds | int)) }}
{{- fail "watchers.leaderElection.renewDeadlineSeconds must be less than leaseDurationSeconds: a leader must give up before its lease can be taken over" }}
{{- end }}
{{- end -}}
