#!/usr/bin/env bash
# Makes the Secrets that the manifests mount and that no operator makes: token keys, the agent's token,
# the lease signing secret and an edge's key, and the Kafka client settings built from Strimzi's
# KafkaUser Secrets (docs/kubernetes.md#credentials, docs/security.md). Run it after
# `kubectl apply -k deploy/center` once Strimzi has made the users, once per edge, with the `spillway`
# command on the PATH (./bin/spillway). Existing center Secrets are kept, so a second edge reuses them.
#
#   deploy/credentials.sh EDGE_NAME TENANT...     # e.g. deploy/credentials.sh east search speech
#
# Namespaces: SPILLWAY_EDGE_NAMESPACE (spillway-edge), SPILLWAY_CENTER_NAMESPACE (spillway-center); with
# the edge in another cluster, SPILLWAY_EDGE_CONTEXT names its kubectl context.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
edge="$1"; shift
edge_ns="${SPILLWAY_EDGE_NAMESPACE:-spillway-edge}"
center_ns="${SPILLWAY_CENTER_NAMESPACE:-spillway-center}"
center_kubectl=(kubectl -n "$center_ns")
edge_kubectl=(kubectl -n "$edge_ns")
[ -n "${SPILLWAY_EDGE_CONTEXT:-}" ] && edge_kubectl=(kubectl --context "$SPILLWAY_EDGE_CONTEXT" -n "$edge_ns")
for tool in spillway openssl base64 xxd; do
  command -v "$tool" >/dev/null || { echo "credentials: $tool is needed" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

secret() {  # secret KUBECTL... -- NAME KEY=FILE...: create or replace a generic Secret
  local args=() name
  while [ "$1" != "--" ]; do args+=("$1"); shift; done; shift
  name="$1"; shift
  local from=()
  for kv in "$@"; do from+=(--from-file="$kv"); done
  kubectl create secret generic "$name" "${from[@]}" --dry-run=client -o yaml | "${args[@]}" apply -f -
}
has() { "$@" >/dev/null 2>&1; }
jaas() {  # the sasl.jaas.config of Strimzi's Secret for KafkaUser $1
  "${center_kubectl[@]}" get secret "$1" -o jsonpath='{.data.sasl\.jaas\.config}' | base64 -d
}
client_properties() {  # client_properties USER FILE
  { echo "security.protocol=SASL_SSL"; echo "sasl.mechanism=SCRAM-SHA-512"
    echo "sasl.jaas.config=$(jaas "$1")"
    echo "ssl.truststore.type=PEM"; echo "ssl.truststore.location=/etc/spillway/kafka-ca/ca.crt"; } > "$2"
}

# Token keys: the gateways verify tenant, agent and admin tokens with the public half.
if ! has "${center_kubectl[@]}" get secret spillway-token-signing-key; then
  spillway token keygen --dir "$work/auth" >/dev/null
  secret "${center_kubectl[@]}" -- spillway-token-signing-key signing-key.pem="$work/auth/signing-key.pem"
  secret "${center_kubectl[@]}" -- spillway-auth-keys jwks.json="$work/auth/jwks.json"
fi
"${center_kubectl[@]}" get secret spillway-token-signing-key -o jsonpath='{.data.signing-key\.pem}' | base64 -d > "$work/signing-key.pem"
"${center_kubectl[@]}" get secret spillway-auth-keys -o jsonpath='{.data.jwks\.json}' | base64 -d > "$work/jwks.json"
secret "${edge_kubectl[@]}" -- spillway-auth-keys jwks.json="$work/jwks.json"

# The agents' token: it may vouch for exactly these tenants (the namespaces its pods run in, mapped).
tenants=(); for t in "$@"; do tenants+=(--tenant "$t"); done
spillway token issue --key "$work/signing-key.pem" --role agent --subject "agents-$edge" "${tenants[@]}" --ttl 30d > "$work/token"
secret "${edge_kubectl[@]}" -- agent-token token="$work/token"

# Lease signing: the center secret, and this edge's key derived from it (LeaseSigning.edgeKey).
if ! has "${center_kubectl[@]}" get secret lease-signing-secret; then
  head -c 32 /dev/urandom | base64 -w0 > "$work/secret"; echo >> "$work/secret"
  secret "${center_kubectl[@]}" -- lease-signing-secret secret="$work/secret"
fi
"${center_kubectl[@]}" get secret lease-signing-secret -o jsonpath='{.data.secret}' | base64 -d | tr -d '\n' > "$work/secret.b64"
hexkey="$(base64 -d "$work/secret.b64" | xxd -p -c 256)"
printf 'spillway lease writer\nedge\n%s' "$edge" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary \
  | base64 -w0 > "$work/lease.key"; echo >> "$work/lease.key"
secret "${edge_kubectl[@]}" -- edge-lease-key lease.key="$work/lease.key"

# Kafka: SCRAM credentials from Strimzi's KafkaUser Secrets, and Strimzi's cluster CA for the edge.
client_properties center "$work/center.properties"
secret "${center_kubectl[@]}" -- center-kafka-client client.properties="$work/center.properties"
client_properties "edge-$edge" "$work/edge.properties"
secret "${edge_kubectl[@]}" -- edge-kafka-client client.properties="$work/edge.properties"
"${center_kubectl[@]}" get secret spillway-cluster-ca-cert -o jsonpath='{.data.ca\.crt}' | base64 -d > "$work/ca.crt"
secret "${edge_kubectl[@]}" -- spillway-kafka-ca ca.crt="$work/ca.crt"
echo "credentials: edge $edge ready (agent token for ${*}); restart the gateways to read new files"
