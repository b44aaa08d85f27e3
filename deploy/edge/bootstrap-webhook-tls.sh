#!/usr/bin/env bash
# Installs deploy/edge on a cluster without cert-manager: makes a CA and the webhook's serving certificate
# with openssl, stores them as the Secret webhook-tls, applies the manifests without their cert-manager
# resources, and writes the CA into the MutatingWebhookConfiguration's caBundle (what cert-manager's CA
# injector does otherwise). Run it again before the certificate expires (825 days) to rotate it.
#
#   deploy/edge/bootstrap-webhook-tls.sh [KUSTOMIZE_DIR]     # default: deploy/edge
#   deploy/edge/bootstrap-webhook-tls.sh --print [DIR]       # only print the manifests it would apply
#
# The GPU nodes' and agents' per-pod certificates come from cert-manager's CSI driver
# (csi.cert-manager.io); without it, replace their `tls` volumes by Secrets (docs/kubernetes.md).
set -euo pipefail

print_only=false
if [ "${1:-}" = "--print" ]; then print_only=true; shift; fi
dir="${1:-$(dirname "$0")}"
namespace="${SPILLWAY_NAMESPACE:-spillway-edge}"
webhook_config="${SPILLWAY_WEBHOOK_CONFIG:-spillway}"

# kustomize's output, less the documents of cert-manager.io kinds (Issuer, Certificate).
render() {
  kubectl kustomize "$dir" | awk '
    function flush() { if (doc != "" && doc !~ /(^|\n)apiVersion: cert-manager\.io\//) printf "---\n%s", doc; doc = "" }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    END { flush() }'
}

if $print_only; then render; exit 0; fi

command -v openssl >/dev/null || { echo "bootstrap-webhook-tls: openssl is needed" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
service="webhook.${namespace}.svc"

openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=spillway-webhook-ca" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
# The webhook reads PKCS#8 keys: openssl 3 writes them by default (BEGIN PRIVATE KEY).
openssl req -newkey rsa:2048 -nodes -subj "/CN=${service}" -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' \
  "$service" "$service" > "$work/ext.cnf"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 825 \
  -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

render > "$work/manifests.yaml"
kubectl apply -f "$work/manifests.yaml"
kubectl -n "$namespace" create secret generic webhook-tls \
  --from-file=tls.crt="$work/tls.crt" --from-file=tls.key="$work/tls.key" --from-file=ca.crt="$work/ca.crt" \
  --dry-run=client -o yaml | kubectl apply -f -
ca_bundle="$(base64 -w0 < "$work/ca.crt")"
kubectl patch mutatingwebhookconfiguration "$webhook_config" --type=json \
  -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"${ca_bundle}\"}]"
# The webhook re-reads its files when they change; a restart makes the first start immediate.
kubectl -n "$namespace" rollout restart deployment/webhook
echo "bootstrap-webhook-tls: webhook-tls in ${namespace}, caBundle of ${webhook_config} set"
