#!/usr/bin/env bash
# Builds the pinned third-party binaries the project runs (Pulumi CLI, its Node.js language
# host, the Kubernetes provider plugin, kube-apiserver, kube-controller-manager, kubeadm, etcd)
# from their published Go modules, through the wrapper modules under tools/go/.
#
# Binaries land in a cache outside the repository, keyed by the pinned versions and the
# wrapper modules' contents, so every clone on the same machine reuses them:
#   ${HCB_CACHE_DIR:-$HOME/.cache/hardened-cluster-blueprint}/toolchain/<key>/bin
#
# Usage: tools/build-toolchain.sh            build what is missing, verify everything
#        tools/build-toolchain.sh --bin-dir  print the bin directory (exit 3 when not built)
#        tools/build-toolchain.sh --check    verify only, build nothing (exit 3 when incomplete)
set -euo pipefail

# Everything runs inside main so bash parses the whole file before it starts.
main() {

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${HCB_CACHE_DIR:-$HOME/.cache/hardened-cluster-blueprint}
# One directory per set of pinned versions; each binary also carries a stamp of the wrapper
# module and flags it was built from, so a change to one wrapper rebuilds only its binaries.
key="pulumi-${PULUMI_VERSION}_k8sprov-${K8S_PROVIDER_VERSION}_k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}"
prefix="$cache_root/toolchain/$key"
bin="$prefix/bin"

mode=build
case "${1:-}" in
  --bin-dir) mode=bindir ;;
  --check) mode=check ;;
  "") ;;
  *) echo "usage: $0 [--bin-dir|--check]" >&2; exit 2 ;;
esac

say() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

# name | expected version substring | command printing the version
binaries=(pulumi pulumi-language-nodejs pulumi-resource-kubernetes etcd etcdutl kube-apiserver kube-controller-manager kubeadm
  kube-scheduler kubelet containerd containerd-shim-runc-v2 ctr runc bridge host-local loopback portmap)

reported_version() {
  local b=$1
  case "$b" in
    pulumi) "$bin/pulumi" version 2>/dev/null ;;
    pulumi-language-nodejs)
      # No version flag: read the module version and the ldflag out of the binary's build info.
      go version -m "$bin/$b" 2>/dev/null | awk '$1=="mod" {print $3}' ;;
    pulumi-resource-kubernetes)
      # No version flag either: the binary must be built from the pinned provider module, and
      # the schema it embeds carries the version it was stamped with.
      if go version -m "$bin/$b" 2>/dev/null |
        awk -v m="$K8S_PROVIDER_MODULE_VERSION" '$1=="dep" && $2=="github.com/pulumi/pulumi-kubernetes/provider/v4" && $3==m {ok=1} END {exit !ok}'; then
        grep -a -o -m1 '^  "version": "[^"]*"' "$bin/$b" | sed 's/.*: "\(.*\)"/\1/'
      fi ;;
    etcd) "$bin/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p' ;;
    etcdutl) "$bin/etcdutl" version 2>/dev/null | sed -n 's/^etcdutl version: //p' ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet) "$bin/$b" --version 2>/dev/null | awk '{print $2}' ;;
    containerd) "$bin/containerd" --version 2>/dev/null | awk '{print $3}' ;;
    runc)
      # Built with seccomp: runc names the libseccomp it was linked with; without it, report nothing.
      if "$bin/runc" --version 2>/dev/null | grep -q '^libseccomp: '; then "$bin/runc" --version | sed -n 's/^runc version //p'; fi ;;
    containerd-shim-runc-v2|ctr|bridge|host-local|loopback|portmap)
      # No common version flag: the module version recorded in the binary's build info.
      go version -m "$bin/$b" 2>/dev/null | awk '$1=="mod" {print $3}' ;;
    kubeadm) "$bin/kubeadm" version -o short 2>/dev/null ;;
  esac
}

expected_version() {
  case "$1" in
    pulumi) echo "v$PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "$PULUMI_LANGHOST_MODULE_VERSION" ;;
    pulumi-resource-kubernetes) echo "$K8S_PROVIDER_VERSION" ;;
    etcd|etcdutl) echo "$ETCD_VERSION" ;;
    containerd|containerd-shim-runc-v2|ctr) echo "v$CONTAINERD_VERSION" ;;
    runc) echo "$RUNC_VERSION" ;;
    bridge|host-local|loopback|portmap) echo "v$CNI_PLUGINS_VERSION" ;;
    *) echo "v$KUBERNETES_VERSION" ;;
  esac
}

wrapper_of() {
  case "$1" in
    pulumi|pulumi-language-nodejs) echo pulumi ;;
    pulumi-resource-kubernetes) echo k8sprovider ;;
    etcd|etcdutl) echo etcd ;;
    containerd|containerd-shim-runc-v2|ctr) echo containerd ;;
    runc) echo runc ;;
    bridge|host-local|loopback|portmap) echo cni ;;
    *) echo kube ;;
  esac
}

# What a binary is built from: its wrapper module (go.mod, go.sum, sources) and its version.
stamp_of() {
  local w; w=$(wrapper_of "$1")
  (expected_version "$1"; cat "$here/go/$w"/go.mod "$here/go/$w"/go.sum; cat "$here/go/$w"/*.go 2>/dev/null || true) |
    sha256sum | cut -c1-16
}

verified() {
  local b=$1
  [ -x "$bin/$b" ] || return 1
  [ "$(cat "$bin/.stamp-$b" 2>/dev/null)" = "$(stamp_of "$b")" ] || return 1
  [ "$(reported_version "$b")" = "$(expected_version "$b")" ]
}

if [ "$mode" = bindir ]; then
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || { echo "toolchain not built: run npm run toolchain" >&2; exit 3; }; done
  echo "$bin"; exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed or not on PATH. Install Go 1.26+ (the project builds its toolchain from Go modules)."
gov=$(go env GOVERSION | sed 's/^go//')
case "$gov" in 1.2[6-9]*|1.[3-9]*) ;; *) die "Go $gov is too old: the wrapper modules need Go 1.26 or newer." ;; esac

if [ "$mode" = check ]; then
  missing=0
  for b in "${binaries[@]}"; do
    if verified "$b"; then say "ok $b $(reported_version "$b")"; else say "missing or wrong version: $b"; missing=1; fi
  done
  [ $missing = 0 ] && echo "$bin"
  exit $((missing * 3))
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
# The committed go.sum files are the integrity record; the proxy's checksum database does not
# hold every module version the proxy serves, so it is not consulted.
export GOSUMDB=off
mkdir -p "$bin" "$prefix/logs"

proxy=$(go env GOPROXY)
if ! curl -fsS -o /dev/null --max-time 20 "${proxy%%,*}/k8s.io/kubernetes/@v/v${KUBERNETES_VERSION}.info" 2>/dev/null; then
  # Not fatal on its own: everything may already be in the module cache.
  say "warning: the Go module proxy (${proxy%%,*}) did not answer; building from the module cache only"
  export GOFLAGS="$GOFLAGS" GOPROXY=off
fi

total=${#binaries[@]}
i=0
build() { # name  module-dir  package  ldflags  [tags]
  local name=$1 dir=$2 pkg=$3 ld=$4 tags=${5:-}
  i=$((i + 1))
  if verified "$name"; then
    say "[$i/$total] $name $(reported_version "$name") (cached)"
    return 0
  fi
  say "[$i/$total] building $name from $pkg (cold builds take minutes; log: $prefix/logs/$name.log)"
  local start=$SECONDS
  local out="$bin/.$name.partial"
  (
    cd "$dir"
    CGO_ENABLED=${BUILD_CGO:-0} /usr/bin/time -f "peak-rss-kb %M" go build -p "${HCB_BUILD_JOBS:-2}" -trimpath ${tags:+-tags "$tags"} \
      -ldflags "$ld" -o "$out" "$pkg"
  ) >"$prefix/logs/$name.log" 2>&1 &
  local pid=$!
  local next=30
  while kill -0 $pid 2>/dev/null; do
    sleep 1
    if [ $((SECONDS - start)) -ge $next ] && kill -0 $pid 2>/dev/null; then
      say "      ... $name still building ($((SECONDS - start))s)"
      next=$((next + 30))
    fi
  done
  if ! wait $pid; then
    tail -n 30 "$prefix/logs/$name.log" >&2
    die "building $name failed (full log: $prefix/logs/$name.log)"
  fi
  mv "$out" "$bin/$name"
  stamp_of "$name" >"$bin/.stamp-$name"
  local rss; rss=$(sed -n 's/^peak-rss-kb //p' "$prefix/logs/$name.log" | tail -1)
  if ! verified "$name"; then
    die "$name reports version '$(reported_version "$name")', expected '$(expected_version "$name")'"
  fi
  say "[$i/$total] built $name $(reported_version "$name") in $((SECONDS - start))s, peak RSS $((rss / 1024)) MiB"
  echo "$name $((SECONDS - start))s $((rss / 1024))MiB" >>"$prefix/logs/build-times.txt"
}

info_field() { # module@version field
  go mod download -json "$1" | jq -r "$2"
}

# --- etcd -------------------------------------------------------------------------------------
build etcd "$here/go/etcd" go.etcd.io/etcd/server/v3 "-s -w"
# etcdutl: offline snapshot status and restore (hcb backup).
build etcdutl "$here/go/etcd" go.etcd.io/etcd/etcdutl/v3 "-s -w"

# --- Kubernetes ---------------------------------------------------------------------------------
kinfo=$(cd "$here/go/kube" && go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION")
kcommit=$(jq -r '.Origin.Hash // "unknown"' <<<"$kinfo")
kdate=$(jq -r '.Time' <<<"$kinfo")
kminor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")
kld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kld+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$kminor"
  kld+=" -X $p.gitCommit=$kcommit -X $p.gitTreeState=clean -X $p.buildDate=$kdate"
done
for c in kube-apiserver kube-controller-manager kubeadm kube-scheduler kubelet; do
  build "$c" "$here/go/kube" "k8s.io/kubernetes/cmd/$c" "$kld"
done

# --- The node: containerd, runc (with seccomp: cgo and Debian's libseccomp), CNI plugins ---------
cld="-s -w -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION"
for c in containerd containerd-shim-runc-v2 ctr; do
  build "$c" "$here/go/containerd" "github.com/containerd/containerd/v2/cmd/$c" "$cld"
done
if ! verified runc; then
  pkg-config --exists libseccomp 2>/dev/null || die "runc is built with seccomp and needs libseccomp's headers: run scripts/ensure-node-packages.sh (apt-get install libseccomp-dev pkg-config gcc)"
fi
BUILD_CGO=1 build runc "$here/go/runc" github.com/opencontainers/runc "-s -w -X main.version=$RUNC_VERSION" seccomp
for c in bridge host-local loopback portmap; do
  case "$c" in host-local) p=ipam/host-local ;; portmap) p=meta/portmap ;; *) p=main/$c ;; esac
  build "$c" "$here/go/cni" "github.com/containernetworking/plugins/plugins/$p" "-s -w"
done

# --- Pulumi CLI and Node.js language host -----------------------------------------------------
pld="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
build pulumi "$here/go/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$pld" osusergo,grpcnotrace
build pulumi-language-nodejs "$here/go/pulumi" github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "$pld" osusergo,grpcnotrace

# --- Kubernetes provider ------------------------------------------------------------------------
# The build happens in a scratch copy of the wrapper so the copied upstream schema files never
# land in the repository.
if ! verified pulumi-resource-kubernetes; then
  scratch="$prefix/src/k8sprovider"
  rm -rf "$scratch"; mkdir -p "$scratch"
  cp "$here/go/k8sprovider/go.mod" "$here/go/k8sprovider/go.sum" "$here/go/k8sprovider/main.go" "$scratch/"
  mdir=$(cd "$scratch" && go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PROVIDER_MODULE_VERSION" | jq -r .Dir)
  [ -f "$mdir/cmd/pulumi-resource-kubernetes/schema.json" ] || die "schema.json not found in $mdir"
  # Same transformation as upstream's generate step: stamp the version into the schema.
  jq --arg v "$K8S_PROVIDER_VERSION" '.version = $v' "$mdir/cmd/pulumi-resource-kubernetes/schema.json" >"$scratch/schema-embed.json"
  cp "$mdir/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$scratch/terraform-mapping-embed.json"
  chmod u+w "$scratch"/*.json
else
  scratch="$here/go/k8sprovider"
fi
build pulumi-resource-kubernetes "$scratch" . \
  "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION"

{
  echo "{"
  for b in "${binaries[@]}"; do printf '  "%s": "%s",\n' "$b" "$(reported_version "$b")"; done
  printf '  "key": "%s"\n}\n' "$key"
} >"$prefix/versions.json"
say "toolchain ready in $bin"
echo "$bin"
}

main "$@"
exit $?
