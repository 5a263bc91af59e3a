{{/*
Names, labels and the derived switches every template shares.
*/}}

{{- define "huleedu-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "huleedu-operator.fullname" -}}
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

{{- define "huleedu-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "huleedu-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "huleedu-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "huleedu-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "huleedu-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "huleedu-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "huleedu-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
How the operator serves namespaces, by the rule the operator applies to
HULEEDU_OPERATOR_NAMESPACES (operator/huleedu_operator/controller/namespaces.py):
  "cluster"     no watchNamespaces: every namespace
  "namespaces"  literal names only: a Role per namespace, a KopfPeering in each for HA
  "patterns"    any entry with '*' or '?' or starting with '!': cluster-wide RBAC (a Role
                cannot be made for a namespace that is not known yet) and, for HA, the
                ClusterKopfPeering
*/}}
{{- define "huleedu-operator.watchMode" -}}
{{- $mode := "cluster" }}
{{- range .Values.watchNamespaces }}
{{- if or (contains "*" .) (contains "?" .) (hasPrefix "!" .) }}
{{- $mode = "patterns" }}
{{- else if eq $mode "cluster" }}
{{- $mode = "namespaces" }}
{{- end }}
{{- end }}
{{- $mode }}
{{- end }}

{{/* "true" when the operator serves a fixed list of namespaces (Roles, KopfPeerings). */}}
{{- define "huleedu-operator.namespaced" -}}
{{- if eq (include "huleedu-operator.watchMode" .) "namespaces" }}true{{ end }}
{{- end }}

{{/* "true" when kopf lists and watches namespaces: any mode but the whole cluster. */}}
{{- define "huleedu-operator.readsNamespaces" -}}
{{- if ne (include "huleedu-operator.watchMode" .) "cluster" }}true{{ end }}
{{- end }}

{{/* "true" when kopf peering is on: asked for, or implied by more than one replica. */}}
{{- define "huleedu-operator.peering" -}}
{{- if or .Values.peering.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{- define "huleedu-operator.peeringName" -}}
{{- default (include "huleedu-operator.fullname" .) .Values.peering.name }}
{{- end }}

{{/*
Checks across values that values.schema.json cannot express. Each message names the
values and the fix.
*/}}
{{- define "huleedu-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (ne (toString .Values.peering.priority) "auto") }}
{{- fail (printf "peering.priority=%v with replicaCount=%v: all replicas would share one priority and kopf pauses every peer that ties for the highest; set peering.priority=auto (each pod derives its own) or replicaCount=1" .Values.peering.priority .Values.replicaCount) }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (le (int .Values.replicaCount) (int .Values.podDisruptionBudget.minAvailable)) }}
{{- fail (printf "podDisruptionBudget.enabled with replicaCount=%v and minAvailable=%v would block every node drain; raise replicaCount above minAvailable or disable the PodDisruptionBudget" .Values.replicaCount .Values.podDisruptionBudget.minAvailable) }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.service.enabled: the ServiceMonitor selects the metrics Service" }}
{{- end }}
{{- end }}

{{/*
What the operator does inside every namespace it serves. In cluster-wide and pattern
mode these rules go into the ClusterRole, in namespaced mode into one Role per watched
namespace.
The chart's README explains each rule. There are deliberately no rules for Secrets:
the operator only ever *references* Secrets by name in the pod templates it renders.
*/}}
{{- define "huleedu-operator.namespacedRules" -}}
# Watch the HuleEduService resources (the reconcile input; never written except status).
- apiGroups: ["huleedu.io"]
  resources: ["huleeduservices"]
  verbs: ["list", "watch"]
# Report status (merge-patch of the status subresource).
- apiGroups: ["huleedu.io"]
  resources: ["huleeduservices/status"]
  verbs: ["patch"]
# Children carry ownerReferences with blockOwnerDeletion: true; clusters that enable
# the OwnerReferencesPermissionEnforcement admission plugin require this to set them.
- apiGroups: ["huleedu.io"]
  resources: ["huleeduservices/finalizers"]
  verbs: ["update"]
# The children: server-side apply (patch, plus create when the child is new), watch for
# drift, get to resolve apply conflicts, delete to prune children no longer wanted.
- apiGroups: [""]
  resources: ["configmaps", "services"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# New claims of spec.volumes, and spec.expose: an Ingress, or an HTTPRoute when the
# Gateway API is installed.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors", "podmonitors"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects", "triggerauthentications"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Read-only views that feed status: pods (container waiting reasons such as
# ImagePullBackOff) and EndpointSlices (ready endpoints of http services).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list", "watch"]
# The operator's own Events (Created, Updated, DriftCorrected, Pruned, Degraded).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
