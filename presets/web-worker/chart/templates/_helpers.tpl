{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "web-worker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name when it already contains the chart name, else
<release>-<chart>. Kubernetes names are limited to 63 characters (DNS-1123 labels).
*/}}
{{- define "web-worker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of a component's resource: <fullname>-<suffix>, the fullname cut first so the suffix
always survives the 63-character limit.
Usage: include "web-worker.componentName" (dict "context" . "suffix" "worker")
*/}}
{{- define "web-worker.componentName" -}}
{{- $room := sub 62 (len .suffix) | int }}
{{- printf "%s-%s" (include "web-worker.fullname" .context | trunc $room | trimSuffix "-") .suffix }}
{{- end }}

{{- define "web-worker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "web-worker.labels" -}}
helm.sh/chart: {{ include "web-worker.chart" . }}
{{ include "web-worker.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Shared by every pod of the release (API, worker, migration), so the NetworkPolicy covers them
all; each workload adds app.kubernetes.io/component to keep its own selector apart.
*/}}
{{- define "web-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "web-worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "web-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "web-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Where the migration runs: "hook" (a pre-install/pre-upgrade Job), "initContainer" (in the API
pods) or "none". The hook wins when both are enabled, so the migration never runs twice.
*/}}
{{- define "web-worker.migrationMode" -}}
{{- if .Values.migrations.hookEnabled }}hook
{{- else if .Values.migrations.enabled }}initContainer
{{- else }}none
{{- end }}
{{- end }}

{{/*
A container's env: list from .Values.env plus the component's own variables (which win).
Renders nothing when both are empty, so callers wrap it in `with` to leave no blank line.
Usage: include "web-worker.env" (dict "context" . "own" (dict "NAME" "value"))
*/}}
{{- define "web-worker.env" -}}
{{- $vars := merge (deepCopy .own) (.context.Values.env | default dict) }}
{{- with $vars -}}
env:
{{- range $name, $value := . }}
  - name: {{ $name }}
    value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
ONE envFrom: list with a secretRef per envFromSecrets entry.
*/}}
{{- define "web-worker.envFrom" -}}
{{- with .Values.envFromSecrets -}}
envFrom:
{{- range . }}
  - secretRef:
      name: {{ required "every envFromSecrets entry needs a secretName" .secretName | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
libpq's own variables, taken from the plain DATABASE_* env when set, so the Postgres Secret
only has to add the password.
*/}}
{{- define "web-worker.libpqEnv" -}}
{{- $libpq := dict "PGCONNECT_TIMEOUT" "10" "MIGRATIONS_DIR" "/migrations" "MIGRATIONS_WAIT_SECONDS" (toString .Values.migrations.waitSeconds) }}
{{- $fromPlainEnv := dict "PGHOST" "DATABASE_HOST" "PGPORT" "DATABASE_PORT" "PGDATABASE" "DATABASE_NAME" "PGUSER" "DATABASE_USER" }}
{{- range $libpqName, $plainName := $fromPlainEnv }}
{{- if hasKey ($.Values.env | default dict) $plainName }}
{{- $_ := set $libpq $libpqName (index $.Values.env $plainName | toString) }}
{{- end }}
{{- end }}
{{- toYaml $libpq }}
{{- end }}

{{/*
The migration container, shared by the hook Job and the API's init container.
*/}}
{{- define "web-worker.migrationContainer" -}}
- name: migrate
  image: "{{ .Values.migrations.image.repository }}:{{ .Values.migrations.image.tag }}"
  imagePullPolicy: {{ .Values.migrations.image.pullPolicy }}
  command: ["/bin/sh", "/migrations/migrate.sh"]
  {{- with include "web-worker.env" (dict "context" . "own" (include "web-worker.libpqEnv" . | fromYaml)) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with include "web-worker.envFrom" . }}
  {{- . | nindent 2 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.migrations.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.migrations.resources | nindent 4 }}
  volumeMounts:
    - name: migrations
      mountPath: /migrations
      readOnly: true
{{- end }}

{{- define "web-worker.migrationVolume" -}}
- name: migrations
  configMap:
    name: {{ include "web-worker.componentName" (dict "context" . "suffix" "migrations") }}
{{- end }}
