{{/*
The chart name, or nameOverride.
*/}}
{{- define "flask-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources (at most 63 characters: some name fields are DNS labels).
The release name alone when it already holds the chart name.
*/}}
{{- define "flask-app.fullname" -}}
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
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "flask-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels every resource carries.
*/}}
{{- define "flask-app.labels" -}}
helm.sh/chart: {{ include "flask-app.chart" . }}
{{ include "flask-app.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: name and instance only (a Deployment's selector is immutable, so nothing that changes goes here).
*/}}
{{- define "flask-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flask-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount the pods run as.
*/}}
{{- define "flask-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.enabled }}
{{- default (include "flask-app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Kubernetes API token is not mounted unless serviceAccount.automountToken asks for it: the app never calls the
Kubernetes API. IRSA does not need it either: EKS's pod identity webhook adds its own projected token (audience
sts.amazonaws.com, volume aws-iam-token) and AWS_WEB_IDENTITY_TOKEN_FILE to the pod whatever this setting is.
*/}}
{{- define "flask-app.automountToken" -}}
{{- if .Values.serviceAccount.automountToken }}true{{ else }}false{{ end }}
{{- end }}

{{/*
The image: repository@digest when a digest is given (it wins over the tag), else repository:tag.
*/}}
{{- define "flask-app.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "flask-app.string" (default .Chart.AppVersion .Values.image.tag)) }}
{{- end }}
{{- end }}

{{/*
A string or a whole number as a string. Numbers from JSON or a values file are float64 inside Helm, and toString
would print 1048576 as 1.048576e+06; the schema allows only whole numbers here.
*/}}
{{- define "flask-app.string" -}}
{{- if kindIs "string" . }}{{ . }}{{ else }}{{ int64 . }}{{ end }}
{{- end }}

{{/*
An IntOrString of the Deployment's strategy: a whole number as a number, a percentage as a quoted string.
*/}}
{{- define "flask-app.intOrPercent" -}}
{{- if kindIs "string" . }}{{ . | quote }}{{ else }}{{ int64 . }}{{ end }}
{{- end }}

{{/*
A memory quantity (256Mi, 1Gi, 512M, 0.5Gi or a number of bytes) in bytes, as a whole number.
*/}}
{{- define "flask-app.bytes" -}}
{{- $quantity := include "flask-app.string" . }}
{{- $number := regexFind "^[0-9]*\\.?[0-9]*" $quantity }}
{{- $unit := trimPrefix $number $quantity }}
{{- $factors := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 }}
{{- printf "%d" (mulf (float64 $number) (index $factors $unit) | ceil | int64) }}
{{- end }}

{{/*
What /tmp (a memory-backed emptyDir) must hold, in MiB, rounded up. Werkzeug spools a form's file part to /tmp past
500 KB, and a request's body is at most MAX_AVATAR_BYTES + 64 KiB (the app's MAX_CONTENT_LENGTH); /tmp holds
gunicorn.spooledUploads such uploads per worker at once (a gevent worker serves more connections than that). On top: gunicorn's worker
heartbeat files (one empty file per worker) and room for anything else that writes a temporary file.
*/}}
{{- define "flask-app.tmpMiB" -}}
{{- $upload := add (include "flask-app.string" .Values.env.MAX_AVATAR_BYTES | int64) 65536 }}
{{- $uploads := mul (int .Values.gunicorn.workers) (int .Values.gunicorn.spooledUploads) $upload }}
{{- $bytes := add $uploads (mul 16 1048576) }}
{{- div (add $bytes 1048575) 1048576 }}
{{- end }}

{{/*
Memory for gunicorn's processes, in MiB, outside /tmp: 64Mi for the master and 128Mi for each worker. Measured with
gunicorn 27 and the app loaded: about 41 MiB RSS for the master and 49 MiB for an idle worker; the rest of a
worker's share holds two image decodes at once (at most ~35 MB each, users_api/avatars.py). An estimate, not a
bound: every thread of a worker decoding at once needs more, which resources.limits.memory can give.
*/}}
{{- define "flask-app.processMiB" -}}
{{- add 64 (mul (int .Values.gunicorn.workers) 128) }}
{{- end }}

{{/*
The name of the Secret holding the AWS credentials, or "" when there are none (IRSA, or the node's role).
*/}}
{{- define "flask-app.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else if .Values.env.AWS_ACCESS_KEY_ID }}
{{- include "flask-app.fullname" . }}
{{- end }}
{{- end }}

{{/*
The fewest pods that will run: hpa.minReplicas with the HPA, else replicaCount.
*/}}
{{- define "flask-app.replicaFloor" -}}
{{- if .Values.hpa.enabled }}{{ .Values.hpa.minReplicas | int }}{{ else }}{{ .Values.replicaCount | int }}{{ end }}
{{- end }}

{{/*
The emulator's TCP port from env.AWS_ENDPOINT_URL (explicit, or 80/443 by scheme), or "" when there is none.
*/}}
{{- define "flask-app.endpointPort" -}}
{{- with .Values.env.AWS_ENDPOINT_URL }}
{{- $url := urlParse . }}
{{- $hostPort := splitList ":" $url.host }}
{{- if gt (len $hostPort) 1 }}
{{- last $hostPort }}
{{- else if eq $url.scheme "https" }}443
{{- else }}80
{{- end }}
{{- end }}
{{- end }}

{{/*
Checkov skip annotations, each with its reason, for the findings that are deliberate in this configuration.
Only the skips that apply to the values given are rendered, so checkov still judges everything else.
Call with (dict "root" $ "hook" false); the reconciler's CronJob adds "job" true.
*/}}
{{- define "flask-app.checkovSkips" -}}
{{- $root := .root }}
{{- $skips := list }}
{{- if not $root.Values.image.digest }}
{{- $skips = append $skips "CKV_K8S_43=image.digest is empty: the image is pinned by tag (Minikube loads locally built images that have no registry digest); set image.digest to pin it" }}
{{- end }}
{{- if ne $root.Values.image.pullPolicy "Always" }}
{{- $skips = append $skips "CKV_K8S_15=image.pullPolicy is not Always on purpose: Minikube runs images loaded into the node (Always would fail to pull them) and a digest cannot change under the kubelet" }}
{{- end }}
{{- if and (not .hook) (include "flask-app.secretName" $root) }}
{{- $skips = append $skips "CKV_K8S_35=the app reads configuration from environment variables only (boto3 reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from it); the values come from a Secret by secretKeyRef, never a literal, and are used for an emulator only (EKS uses IRSA)" }}
{{- end }}
{{- if and (not .hook) $root.Values.serviceAccount.automountToken }}
{{- $skips = append $skips "CKV_K8S_38=serviceAccount.automountToken is true: asked for explicitly by whoever set it (the app itself never calls the Kubernetes API and IRSA brings its own token)" }}
{{- end }}
{{- if not $root.Values.networkPolicy.enabled }}
{{- $skips = append $skips "CKV2_K8S_6=networkPolicy.enabled is false: NetworkPolicy needs a CNI that enforces it (Minikube's default does not); enable it where the CNI does (EKS VPC CNI with network policy, Calico, Cilium)" }}
{{- end }}
{{- if .job }}
{{- $skips = append $skips "CKV_K8S_8=the reconciler runs one pass and exits (activeDeadlineSeconds bounds it): there is nothing to keep alive" }}
{{- $skips = append $skips "CKV_K8S_9=the reconciler runs one pass and exits: no Service routes to it" }}
{{- end }}
{{- if .hook }}
{{- $skips = append $skips "CKV_K8S_8=a helm test Pod makes one request and exits: there is nothing to keep alive" }}
{{- $skips = append $skips "CKV_K8S_9=a helm test Pod makes one request and exits: no Service routes to it" }}
{{- end }}
{{- range $i, $skip := $skips }}
checkov.io/skip{{ add1 $i }}: {{ $skip | quote }}
{{- end }}
{{- end }}

{{/*
Pod and container security settings for the Pod Security Standard "restricted" (shared by the app and the test hook).
*/}}
{{- define "flask-app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "flask-app.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Checks that values.schema.json cannot express. Each failure names the value and the fix.
*/}}
{{- define "flask-app.validate" -}}
{{- if and .Values.hpa.enabled (gt (int .Values.hpa.minReplicas) (int .Values.hpa.maxReplicas)) }}
{{- fail (printf "hpa.minReplicas (%d) is greater than hpa.maxReplicas (%d): raise hpa.maxReplicas or lower hpa.minReplicas" (int .Values.hpa.minReplicas) (int .Values.hpa.maxReplicas)) }}
{{- end }}
{{- $floor := include "flask-app.replicaFloor" . | int }}
{{- if and .Values.pdb.enabled (gt $floor 1) (ge (int .Values.pdb.minAvailable) $floor) }}
{{- fail (printf "pdb.minAvailable (%d) must be below the replica floor (%d, hpa.minReplicas or replicaCount), or no pod could ever be evicted and node drains would hang: lower pdb.minAvailable" (int .Values.pdb.minAvailable) $floor) }}
{{- end }}
{{- $drain := add (int .Values.preStopSleepSeconds) 25 }}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- if le $grace $drain }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + gunicorn's 25 s graceful drain (%d), or in-flight requests are cut off: raise it" $grace $drain) }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- /* The ALB keeps a deregistering target draining for the delay; a connection the target closes before that
ends gets the client a 5xx, and the pod serves in-flight requests until its pause and gunicorn's drain are over.
So: pause + drain <= delay <= grace period. */}}
{{- $delay := int .Values.ingress.deregistrationDelaySeconds }}
{{- if or (lt $delay $drain) (gt $delay $grace) }}
{{- fail (printf "ingress.deregistrationDelaySeconds (%d) must be at least preStopSleepSeconds + gunicorn's 25 s drain (%d), so the ALB lets every request the pod still serves finish, and at most terminationGracePeriodSeconds (%d), when the pod is gone: set it between the two" $delay $drain $grace) }}
{{- end }}
{{- if regexMatch "deregistration_delay" (index .Values.ingress.annotations "alb.ingress.kubernetes.io/target-group-attributes" | default "") }}
{{- fail "ingress.annotations sets deregistration_delay in alb.ingress.kubernetes.io/target-group-attributes: set ingress.deregistrationDelaySeconds instead (the chart checks it against the pod's stop timeline)" }}
{{- end }}
{{- if not (has (include "flask-app.string" .Values.rollingUpdate.maxUnavailable) (list "0" "0%")) }}
{{- fail (printf "rollingUpdate.maxUnavailable (%v) must be 0 behind the ALB: an old pod may stop only once a new one is healthy in the target group (the pod readiness gate); raise rollingUpdate.maxSurge to go faster" .Values.rollingUpdate.maxUnavailable) }}
{{- end }}
{{- end }}
{{- if gt (include "flask-app.string" .Values.env.MAX_AVATAR_BYTES | int64) 67108864 }}
{{- fail (printf "env.MAX_AVATAR_BYTES (%v) is above the app's limit of 67108864 (64 MiB): lower it" .Values.env.MAX_AVATAR_BYTES) }}
{{- end }}
{{- /* A memory-backed /tmp is charged to the pod's memory: the limit must hold it full, plus gunicorn itself
(flask-app.processMiB). */}}
{{- $tmp := include "flask-app.tmpMiB" . | int64 }}
{{- $processes := include "flask-app.processMiB" . | int64 }}
{{- $limit := include "flask-app.bytes" .Values.resources.limits.memory | int64 }}
{{- if lt $limit (mul (add $tmp $processes) 1048576) }}
{{- fail (printf "resources.limits.memory (%v) cannot hold /tmp full (%dMi, memory-backed: gunicorn.workers x gunicorn.spooledUploads = %d uploads of env.MAX_AVATAR_BYTES + 64 KiB, plus 16Mi) and gunicorn (%dMi: 64Mi for the master, 128Mi for each of %d workers): raise it to at least %dMi, or lower env.MAX_AVATAR_BYTES, gunicorn.spooledUploads or gunicorn.workers" .Values.resources.limits.memory $tmp (mul (int .Values.gunicorn.workers) (int .Values.gunicorn.spooledUploads)) $processes (int .Values.gunicorn.workers) (add $tmp $processes)) }}
{{- end }}
{{- if gt (include "flask-app.string" .Values.env.AVATAR_URL_TTL_SECONDS | int64) 604800 }}
{{- fail (printf "env.AVATAR_URL_TTL_SECONDS (%v) is above 604800 (7 days, the longest a presigned S3 URL can live and the app's limit): lower it" .Values.env.AVATAR_URL_TTL_SECONDS) }}
{{- end }}
{{- end }}
