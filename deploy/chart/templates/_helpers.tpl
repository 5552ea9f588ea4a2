{{/* Names: <release>-<chart> unless the release name already contains the chart name. */}}
{{- define "tsgw.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tsgw.componentName" -}}
{{- printf "%s-%s" (include "tsgw.fullname" .root) .component -}}
{{- end -}}

{{- define "tsgw.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tsgw.labels" -}}
{{ include "tsgw.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tailscale-gateway-operator
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "tsgw.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The extension server's gRPC Service name; Envoy Gateway's extensionManager points at it. */}}
{{- define "tsgw.extensionServiceName" -}}
{{- include "tsgw.componentName" (dict "root" . "component" "extension") -}}
{{- end -}}

{{/* Environment shared by the processes that talk to Temporal (worker, watchers, search attribute job). */}}
{{- define "tsgw.temporalEnv" -}}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- if or .Values.temporal.tls.enabled .Values.temporal.tls.clientCertSecret .Values.temporal.apiKey.secretName }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- if .Values.temporal.tls.clientCertSecret }}
- name: TEMPORAL_TLS_CERT
  value: /etc/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY
  value: /etc/temporal-tls/tls.key
{{- end }}
{{- if .Values.temporal.apiKey.secretName }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.temporal.apiKey.secretName | quote }}
      key: {{ .Values.temporal.apiKey.secretKey | quote }}
{{- end }}
{{- end -}}

{{- define "tsgw.temporalVolumeMounts" -}}
{{- if .Values.temporal.tls.clientCertSecret }}
- name: temporal-tls
  mountPath: /etc/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "tsgw.temporalVolumes" -}}
{{- if .Values.temporal.tls.clientCertSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.clientCertSecret | quote }}
    defaultMode: 0400
{{- end }}
{{- end -}}

{{/*
Identity, scope and logging shared by the worker and the watchers (runtime/config.ts validates both).
Empty ids are derived per install (runtime/identity.ts) from the namespace, the release and the cluster.
*/}}
{{- define "tsgw.operatorEnv" -}}
- name: OPERATOR_ID
  value: {{ .Values.operatorId | quote }}
- name: CLUSTER_ID
  value: {{ .Values.clusterId | quote }}
# The release namespace: it names the install, and the proxies and their Secrets live there, where
# tenants have no rights.
- name: OPERATOR_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: RELEASE_NAME
  value: {{ .Release.Name | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{- define "tsgw.tracingEnv" -}}
{{- with .Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- range $name, $value := $.Values.tracing.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "tsgw.watchEnv" -}}
- name: WATCH_NAMESPACES
  value: {{ join "," .Values.watch.namespaces | quote }}
- name: WATCH_LABEL_SELECTOR
  value: {{ .Values.watch.labelSelector | quote }}
- name: RESYNC_INTERVAL_SECONDS
  value: {{ .Values.watch.resyncIntervalSeconds | quote }}
{{- end -}}

{{/* Pod-level settings every Deployment shares. */}}
{{- define "tsgw.podSpecCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Names of the extension's TLS Secrets: the CA certificate Envoy Gateway verifies the server with (tls.crt),
the server's pair (with ca.crt, the CA client certificates must chain to), and Envoy Gateway's client pair.
*/}}
{{- define "tsgw.extensionTlsNames" -}}
{{- $base := include "tsgw.extensionServiceName" . -}}
{{- toJson (dict "ca" (printf "%s-ca" $base) "server" (printf "%s-server-tls" $base) "client" (printf "%s-client-tls" $base)) -}}
{{- end -}}

{{/* true when the extension's certificates come from cert-manager (certManager: auto follows the API). */}}
{{- define "tsgw.extensionTlsCertManager" -}}
{{- $cm := .Values.extension.tls.certManager -}}
{{- if eq (toString $cm) "auto" -}}
{{- .Capabilities.APIVersions.Has "cert-manager.io/v1" -}}
{{- else -}}
{{- $cm -}}
{{- end -}}
{{- end -}}

{{/*
Worker Versioning (docs/worker-versioning.md): the Worker Deployment the release's workers poll as, and
this build's ID in it (the image digest or tag unless worker.versioning.buildId is set).
*/}}
{{- define "tsgw.workerDeploymentName" -}}
{{ include "tsgw.componentName" (dict "root" . "component" "worker") | replace "." "-" }}
{{- end -}}
{{- define "tsgw.workerBuildId" -}}
{{ .Values.worker.versioning.buildId | default .Values.image.digest | default .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- define "tsgw.workerVersionEnv" -}}
- name: TEMPORAL_WORKER_DEPLOYMENT_NAME
  value: {{ include "tsgw.workerDeploymentName" . | quote }}
- name: TEMPORAL_WORKER_BUILD_ID
  value: {{ include "tsgw.workerBuildId" . | quote }}
{{- end -}}
