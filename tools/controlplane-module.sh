#!/usr/bin/env bash
# Regenerates tools/controlplane/go.mod + go.sum: a wrapper module that builds kube-apiserver and etcd
# from k8s.io/kubernetes. k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces every staging
# module with a relative path), so we point each staging module at its published v0.Y.Z tag instead.
# Run only when changing KUBERNETES_VERSION; the result is committed.
set -euo pipefail
KUBERNETES_VERSION=${1:-$(cat "$(dirname "$0")/versions/kubernetes")}
here=$(cd "$(dirname "$0")" && pwd)
mod_dir=$here/controlplane
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

upstream_mod=$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
staging_version=v0.${KUBERNETES_VERSION#1.}
etcd_version=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$upstream_mod")
godebug=$(awk '$1 == "godebug" {print $2}' "$upstream_mod")

rm -f "$mod_dir/go.mod" "$mod_dir/go.sum"
cd "$mod_dir"
go mod init tailscale-gateway-operator/tools/controlplane >/dev/null 2>&1
go mod edit -go="$(awk '$1 == "go" {print $2}' "$upstream_mod")"
[ -n "$godebug" ] && go mod edit -godebug="$godebug"
for staging in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$upstream_mod"); do
  go mod edit -replace="$staging=$staging@$staging_version"
done
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBERNETES_VERSION"
go get -tool "go.etcd.io/etcd/server/v3@$etcd_version"
go mod tidy
echo "tools/controlplane: kubernetes v$KUBERNETES_VERSION, etcd $etcd_version, $(grep -c '=>' go.mod) replaces"
