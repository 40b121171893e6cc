#!/usr/bin/env bash
# Builds the pinned third-party binaries the project runs, from their published Go modules,
# through the wrapper modules under tools/go/ (own go.mod and go.sum, no third-party source):
#   core      Pulumi CLI and its Node.js language host, the Kubernetes provider plugin, etcd and
#             etcdutl, kube-apiserver, kube-controller-manager, kubeadm
#   node      kubelet, kube-scheduler, kube-proxy, containerd (+ shim, ctr), runc (with seccomp),
#             CNI plugins, CoreDNS, kube-router (NetworkPolicy enforcer, firewall only), crane (OCI images)
#   checkers  test-only: kube-bench (+ its cfg/ directory), kube-score, kubesec, and kubectl (the
#             client kube-bench's policies checks run; k8s.io/kubernetes at the pinned version)
#   bench     benchmark-only peers, built only when asked for (--only bench), never by the default
#             build or npm test: Trivy (its misconfiguration scan with the checks compiled into it)
#
# Binaries land in a cache outside the repository, keyed by the pinned versions, so every clone
# on the same machine reuses them:
#   ${HCB_CACHE_DIR:-$HOME/.cache/hardened-cluster-blueprint}/toolchain/<key>/bin
# kube-bench's cfg/ directory goes to <key>/share/kube-bench/cfg (next to bin/).
# Each binary carries a stamp of the wrapper module it was built from, so a change to one wrapper
# rebuilds only its binaries; every binary's own version output and its Go build info (module and
# version) are checked against the pins after the build and on every run.
#
# Independent wrapper modules build concurrently ("lanes"; the binaries of one wrapper build one
# after another, sharing its compiled packages). Knobs: HCB_BUILD_LANES (default 2 concurrent
# lanes), HCB_BUILD_JOBS (go build -p, default 2), HCB_BUILD_MEM_MIB (memory budget for the
# concurrent lanes' estimated peaks; default 80% of MemAvailable).
#
# Usage: tools/build-toolchain.sh [--only core|node|checkers|bench]            build what is missing, verify
#        tools/build-toolchain.sh [--only core|node|checkers|bench] --check    verify only (exit 3 when incomplete)
#        tools/build-toolchain.sh [--only core|node|checkers|bench] --bin-dir  print the bin directory (exit 3 when not built)
# Without --only: core, node and checkers (not bench).
set -euo pipefail

# Everything runs inside main so bash parses the whole file before it starts.
main() {

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${HCB_CACHE_DIR:-$HOME/.cache/hardened-cluster-blueprint}
# One directory per set of pinned versions of the core binaries (the key predates the node and
# checker binaries; their pins are in their stamps). Each binary also carries a stamp of the
# wrapper module and version it was built from, so a change to one wrapper rebuilds only its binaries.
key="pulumi-${PULUMI_VERSION}_k8sprov-${K8S_PROVIDER_VERSION}_k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}"
prefix="$cache_root/toolchain/$key"
bin="$prefix/bin"
benchcfg="$prefix/share/kube-bench/cfg"

usage() { echo "usage: $0 [--only core|node|checkers|bench] [--bin-dir|--check]"; }
mode=build
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) mode=bindir ;;
    --check) mode=check ;;
    --only) [ $# -ge 2 ] || { usage >&2; exit 2; }; only=$2; shift ;;
    --only=*) only=${1#--only=} ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

say() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

core=(pulumi pulumi-language-nodejs pulumi-resource-kubernetes etcd etcdutl kube-apiserver kube-controller-manager kubeadm)
node=(kube-scheduler kubelet kube-proxy containerd containerd-shim-runc-v2 ctr runc bridge host-local loopback portmap ptp
  coredns kube-router crane)
checkers=(kube-bench kube-score kubesec kubectl)
bench=(trivy)
case "$only" in
  "") binaries=("${core[@]}" "${node[@]}" "${checkers[@]}") ;;
  core) binaries=("${core[@]}") ;;
  node) binaries=("${node[@]}") ;;
  checkers) binaries=("${checkers[@]}") ;;
  bench) binaries=("${bench[@]}") ;;
  *) usage >&2; exit 2 ;;
esac

# The wrapper module a binary is built from (tools/go/<wrapper>); also its build lane.
wrapper_of() {
  case "$1" in
    pulumi|pulumi-language-nodejs) echo pulumi ;;
    pulumi-resource-kubernetes) echo k8sprovider ;;
    etcd|etcdutl) echo etcd ;;
    containerd|containerd-shim-runc-v2|ctr) echo containerd ;;
    runc) echo runc ;;
    bridge|host-local|loopback|portmap|ptp) echo cni ;;
    coredns) echo coredns ;;
    kube-router) echo kube-router ;;
    crane) echo crane ;;
    kube-bench|kube-score|kubesec|trivy) echo "$1" ;;
    # Its own wrapper (same k8s.io/kubernetes and replaces as kube): adding it to kube would change
    # kube's go.mod and so rebuild every kube binary; as a lane of its own it builds beside them.
    kubectl) echo kubectl ;;
    *) echo kube ;;
  esac
}

# The version a binary must report (part of its stamp: keep these strings stable).
expected_version() {
  case "$1" in
    pulumi) echo "v$PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "$PULUMI_LANGHOST_MODULE_VERSION" ;;
    pulumi-resource-kubernetes) echo "$K8S_PROVIDER_VERSION" ;;
    etcd|etcdutl) echo "$ETCD_VERSION" ;;
    containerd|containerd-shim-runc-v2|ctr) echo "v$CONTAINERD_VERSION" ;;
    runc) echo "$RUNC_VERSION" ;;
    bridge|host-local|loopback|portmap|ptp) echo "v$CNI_PLUGINS_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
    kube-router) echo "v$KUBE_ROUTER_VERSION" ;;
    crane) echo "v$CRANE_VERSION" ;;
    kube-bench) echo "v$KUBE_BENCH_VERSION" ;;
    kube-score) echo "$KUBE_SCORE_VERSION" ;;
    kubesec) echo "v$KUBESEC_VERSION" ;;
    trivy) echo "$TRIVY_VERSION" ;;
    *) echo "v$KUBERNETES_VERSION" ;;
  esac
}

# The version the binary itself reports (empty when it cannot say, or says it wrongly).
reported_version() {
  local b=$1
  case "$b" in
    pulumi) "$bin/pulumi" version 2>/dev/null ;;
    pulumi-resource-kubernetes)
      # No version flag: the schema it embeds carries the version it was stamped with.
      grep -a -o -m1 '^  "version": "[^"]*"' "$bin/$b" | sed 's/.*: "\(.*\)"/\1/' ;;
    etcd) "$bin/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p' ;;
    etcdutl) "$bin/etcdutl" version 2>/dev/null | sed -n 's/^etcdutl version: //p' ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy) "$bin/$b" --version 2>/dev/null | awk '{print $2}' ;;
    kubeadm) "$bin/kubeadm" version -o short 2>/dev/null ;;
    kubectl) "$bin/kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p' ;;
    containerd) "$bin/containerd" --version 2>/dev/null | awk '{print $3}' ;;
    runc)
      # Built with seccomp: runc names the libseccomp it was linked with; without it, report nothing.
      if "$bin/runc" --version 2>/dev/null | grep -q '^libseccomp: '; then "$bin/runc" --version | sed -n 's/^runc version //p'; fi ;;
    coredns) "$bin/coredns" -version 2>/dev/null | sed -n 's/^CoreDNS-//p' ;;
    crane) "$bin/crane" version 2>/dev/null ;;
    # kube-router prints its version line on stderr.
    kube-router) "$bin/kube-router" --version 2>&1 | sed -n 's/^Running .* version \(v[^,]*\), built on .*/\1/p' ;;
    kube-bench)
      # kube-bench is useless without its checks: the cfg/ directory must be next to bin/.
      if [ -f "$benchcfg/config.yaml" ]; then "$bin/kube-bench" version 2>/dev/null | head -n 1; fi ;;
    kube-score) "$bin/kube-score" version 2>/dev/null | sed -n 's/^kube-score version: \([^,]*\),.*/\1/p' ;;
    kubesec) "$bin/kubesec" version 2>/dev/null | sed -n 's/^version //p' ;;
    # An empty cache directory: the version command also describes a cached DB or check bundle.
    trivy) "$bin/trivy" version --cache-dir /nonexistent/hcb-trivy-cache 2>/dev/null | sed -n 's/^Version: //p' ;;
    *)
      # No version flag (language host, containerd's shim and ctr, CNI plugins): the module
      # version recorded in the binary's build info.
      go version -m "$bin/$b" 2>/dev/null | awk '$1=="mod" {print $3}' ;;
  esac
}

# The upstream module (and version) the binary must have been built from, per its Go build info.
origin_of() {
  case "$1" in
    pulumi) echo "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 $PULUMI_LANGHOST_MODULE_VERSION" ;;
    pulumi-resource-kubernetes) echo "github.com/pulumi/pulumi-kubernetes/provider/v4 $K8S_PROVIDER_MODULE_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3 v$ETCD_VERSION" ;;
    etcdutl) echo "go.etcd.io/etcd/etcdutl/v3 v$ETCD_VERSION" ;;
    containerd|containerd-shim-runc-v2|ctr) echo "github.com/containerd/containerd/v2 v$CONTAINERD_VERSION" ;;
    runc) echo "github.com/opencontainers/runc v$RUNC_VERSION" ;;
    bridge|host-local|loopback|portmap|ptp) echo "github.com/containernetworking/plugins v$CNI_PLUGINS_VERSION" ;;
    coredns) echo "github.com/coredns/coredns v$COREDNS_VERSION" ;;
    kube-router) echo "github.com/cloudnativelabs/kube-router/v2 v$KUBE_ROUTER_VERSION" ;;
    crane) echo "github.com/google/go-containerregistry v$CRANE_VERSION" ;;
    kube-bench) echo "github.com/aquasecurity/kube-bench v$KUBE_BENCH_VERSION" ;;
    kube-score) echo "github.com/zegl/kube-score v$KUBE_SCORE_VERSION" ;;
    kubesec) echo "github.com/controlplaneio/kubesec/v2 v$KUBESEC_VERSION" ;;
    trivy) echo "github.com/aquasecurity/trivy v$TRIVY_VERSION" ;;
    *) echo "k8s.io/kubernetes v$KUBERNETES_VERSION" ;;
  esac
}

# The main package a binary is built from (its build info's "path").
pkg_of() {
  case "$1" in
    pulumi) echo github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ;;
    pulumi-language-nodejs) echo github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 ;;
    pulumi-resource-kubernetes) echo hcb.local/tools/k8sprovider ;;
    etcd) echo go.etcd.io/etcd/server/v3 ;;
    etcdutl) echo go.etcd.io/etcd/etcdutl/v3 ;;
    containerd|containerd-shim-runc-v2|ctr) echo "github.com/containerd/containerd/v2/cmd/$1" ;;
    runc) echo github.com/opencontainers/runc ;;
    host-local) echo github.com/containernetworking/plugins/plugins/ipam/host-local ;;
    portmap) echo github.com/containernetworking/plugins/plugins/meta/portmap ;;
    bridge|loopback|ptp) echo "github.com/containernetworking/plugins/plugins/main/$1" ;;
    coredns) echo hcb.local/tools/coredns ;;
    kube-router) echo github.com/cloudnativelabs/kube-router/v2/cmd/kube-router ;;
    crane) echo github.com/google/go-containerregistry/cmd/crane ;;
    kube-bench) echo github.com/aquasecurity/kube-bench ;;
    kube-score) echo github.com/zegl/kube-score/cmd/kube-score ;;
    kubesec) echo github.com/controlplaneio/kubesec/v2 ;;
    trivy) echo github.com/aquasecurity/trivy/cmd/trivy ;;
    *) echo "k8s.io/kubernetes/cmd/$1" ;;
  esac
}

# The binary's Go build info names the pinned module and version and the expected main package.
built_from_pin() {
  local m v; read -r m v <<<"$(origin_of "$1")"
  go version -m "$bin/$1" 2>/dev/null | awk -v m="$m" -v v="$v" -v p="$(pkg_of "$1")" '
    $1=="path" && $2==p {path=1}
    ($1=="mod" || $1=="dep") && $2==m && $3==v {mod=1}
    END {exit !(path && mod)}'
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
  [ "$(reported_version "$b")" = "$(expected_version "$b")" ] || return 1
  built_from_pin "$b"
}

if [ "$mode" = bindir ]; then
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || { echo "toolchain not built (no $b): run npm run toolchain" >&2; exit 3; }; done
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

for t in jq curl; do command -v $t >/dev/null 2>&1 || die "$t is missing: run scripts/ensure-node-packages.sh (or apt-get install $t)"; done
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
# The committed go.sum files are the integrity record; the proxy's checksum database does not
# hold every module version the proxy serves, so it is not consulted.
export GOSUMDB=off
mkdir -p "$bin" "$prefix/logs"
run="$prefix/logs/run"
rm -rf "$run"; mkdir -p "$run"

proxy=$(go env GOPROXY)
if ! curl -fsS -o /dev/null --max-time 20 "${proxy%%,*}/k8s.io/kubernetes/@v/v${KUBERNETES_VERSION}.info" 2>/dev/null; then
  # Not fatal on its own: everything may already be in the module cache.
  say "warning: the Go module proxy (${proxy%%,*}) did not answer; building from the module cache only"
  export GOPROXY=off
fi
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f "peak-rss-kb %M cpu-s %U %S")

total=${#binaries[@]}
ready() { local f n=0; for f in "$run"/done-*; do [ -e "$f" ] && n=$((n + 1)); done; echo "$n"; }

# Builds one binary (called inside its lane). name  module-dir  package  ldflags  [tags]
build() {
  local name=$1 dir=$2 pkg=$3 ld=$4 tags=${5:-}
  if verified "$name"; then
    say "$name $(reported_version "$name") (cached)"
    : >"$run/done-$name"
    return 0
  fi
  say "building $name from $pkg (log: $prefix/logs/$name.log)"
  echo "$name $SECONDS" >"$run/current-$(wrapper_of "$name")"
  local start=$SECONDS
  local out="$bin/.$name.partial"
  if ! (
    cd "$dir"
    CGO_ENABLED=${BUILD_CGO:-0} "${timer[@]}" go build -p "${HCB_BUILD_JOBS:-2}" -trimpath ${tags:+-tags "$tags"} \
      -ldflags "$ld" -o "$out" "$pkg"
  ) >"$prefix/logs/$name.log" 2>&1; then
    rm -f "$out"
    echo "$name" >"$run/failed-$(wrapper_of "$name")"
    say "FAILED $name after $((SECONDS - start))s (log: $prefix/logs/$name.log)"
    return 1
  fi
  mv "$out" "$bin/$name"
  stamp_of "$name" >"$bin/.stamp-$name"
  [ "$name" = kube-bench ] && install_bench_cfg
  # Peak RSS of the largest process (compile or link) and the CPU time of the whole build.
  local rss cpu
  read -r rss cpu < <(awk '$1=="peak-rss-kb" {r=$2; c=$4+$5} END {printf "%d %d\n", r/1024, c}' "$prefix/logs/$name.log")
  if ! verified "$name"; then
    echo "$name" >"$run/failed-$(wrapper_of "$name")"
    say "FAILED $name: reports version '$(reported_version "$name")' (expected '$(expected_version "$name")'), built from '$(go version -m "$bin/$name" 2>/dev/null | awk '$1=="mod"{print $2, $3}')' (expected '$(origin_of "$name")')"
    return 1
  fi
  : >"$run/done-$name"
  say "built $name $(reported_version "$name") in $((SECONDS - start))s (CPU ${cpu}s), peak RSS ${rss} MiB [$(ready)/$total ready]"
  echo "$name $((SECONDS - start))s ${rss}MiB cpu=${cpu}s $(date -u +%FT%TZ)" >>"$prefix/logs/build-times.txt"
}

# kube-bench reads its checks from a cfg/ directory at run time: copy the pinned module's.
install_bench_cfg() {
  local mdir; mdir=$(cd "$here/go/kube-bench" && go mod download -json "github.com/aquasecurity/kube-bench@v$KUBE_BENCH_VERSION" | jq -r .Dir)
  [ -f "$mdir/cfg/config.yaml" ] || { say "kube-bench's cfg/ not found in $mdir"; return 1; }
  rm -rf "$benchcfg"; mkdir -p "$(dirname "$benchcfg")"
  cp -R "$mdir/cfg" "$benchcfg"; chmod -R u+w "$benchcfg"
}

# --- The lanes: one per wrapper module; binaries of a lane build one after another -----------
# The version stamp of a k8s.io/kubernetes binary (what its --version and kubectl version print).
kube_ldflags() {
  local kinfo kcommit kdate kminor kld p
  kinfo=$(cd "$here/go/$1" && go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION")
  kcommit=$(jq -r '.Origin.Hash // "unknown"' <<<"$kinfo")
  kdate=$(jq -r '.Time' <<<"$kinfo")
  kminor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")
  kld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kld+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$kminor"
    kld+=" -X $p.gitCommit=$kcommit -X $p.gitTreeState=clean -X $p.buildDate=$kdate"
  done
  echo "$kld"
}
lane_kube() {
  local kld c
  kld=$(kube_ldflags kube) || return 1
  for c in "$@"; do build "$c" "$here/go/kube" "$(pkg_of "$c")" "$kld" || return 1; done
}
lane_kubectl() {
  local kld
  kld=$(kube_ldflags kubectl) || return 1
  build kubectl "$here/go/kubectl" "$(pkg_of kubectl)" "$kld"
}
lane_etcd() {
  local c
  for c in "$@"; do
    case "$c" in
      etcd) build etcd "$here/go/etcd" "$(pkg_of etcd)" "-s -w" || return 1 ;;
      # etcdutl: offline snapshot status and restore (hcb backup).
      etcdutl) build etcdutl "$here/go/etcd" "$(pkg_of etcdutl)" "-s -w" || return 1 ;;
    esac
  done
}
lane_containerd() {
  local c cld="-s -w -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION"
  for c in "$@"; do build "$c" "$here/go/containerd" "$(pkg_of "$c")" "$cld" || return 1; done
}
lane_runc() {
  # Built with seccomp: cgo and Debian's libseccomp (scripts/ensure-node-packages.sh installs it).
  if ! verified runc && ! pkg-config --exists libseccomp 2>/dev/null; then
    echo runc >"$run/failed-runc"
    say "FAILED runc: it is built with seccomp and needs libseccomp's headers: run scripts/ensure-node-packages.sh (apt-get install libseccomp-dev pkg-config gcc)"
    return 1
  fi
  BUILD_CGO=1 build runc "$here/go/runc" "$(pkg_of runc)" "-s -w -X main.version=$RUNC_VERSION" seccomp
}
lane_cni() {
  local c
  for c in "$@"; do build "$c" "$here/go/cni" "$(pkg_of "$c")" "-s -w" || return 1; done
}
lane_coredns() {
  build coredns "$here/go/coredns" "$(pkg_of coredns)" "-s -w -X github.com/coredns/coredns/coremain.GitCommit=v$COREDNS_VERSION"
}
lane_kube-router() {
  build kube-router "$here/go/kube-router" "$(pkg_of kube-router)" \
    "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=unknown"
}
lane_crane() {
  build crane "$here/go/crane" "$(pkg_of crane)" \
    "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=v$CRANE_VERSION"
}
lane_kube-bench() {
  build kube-bench "$here/go/kube-bench" "$(pkg_of kube-bench)" \
    "-s -w -X github.com/aquasecurity/kube-bench/cmd.KubeBenchVersion=v$KUBE_BENCH_VERSION"
}
lane_kube-score() {
  build kube-score "$here/go/kube-score" "$(pkg_of kube-score)" \
    "-s -w -X main.version=$KUBE_SCORE_VERSION -X main.commit=unknown -X main.date=unknown"
}
lane_kubesec() {
  build kubesec "$here/go/kubesec" "$(pkg_of kubesec)" "-s -w -X github.com/controlplaneio/kubesec/v2/cmd.version=v$KUBESEC_VERSION"
}
lane_trivy() {
  # Trivy's JSON code needs encoding/json/v2, an experiment in this Go (its release build sets it too).
  GOEXPERIMENT=jsonv2 build trivy "$here/go/trivy" "$(pkg_of trivy)" \
    "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION"
}
lane_pulumi() {
  local c pld="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  for c in "$@"; do
    case "$c" in
      pulumi) build pulumi "$here/go/pulumi" "$(pkg_of pulumi)" "$pld" osusergo,grpcnotrace || return 1 ;;
      pulumi-language-nodejs)
        build pulumi-language-nodejs "$here/go/pulumi" "$(pkg_of pulumi-language-nodejs)" "$pld" osusergo,grpcnotrace || return 1 ;;
    esac
  done
}
lane_k8sprovider() {
  # The build happens in a scratch copy of the wrapper so the copied upstream schema files never
  # land in the repository.
  local scratch="$prefix/src/k8sprovider" mdir
  if ! verified pulumi-resource-kubernetes; then
    rm -rf "$scratch"; mkdir -p "$scratch"
    cp "$here/go/k8sprovider/go.mod" "$here/go/k8sprovider/go.sum" "$here/go/k8sprovider/main.go" "$scratch/"
    mdir=$(cd "$scratch" && go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PROVIDER_MODULE_VERSION" | jq -r .Dir)
    if [ ! -f "$mdir/cmd/pulumi-resource-kubernetes/schema.json" ]; then
      echo pulumi-resource-kubernetes >"$run/failed-k8sprovider"; say "FAILED pulumi-resource-kubernetes: schema.json not found in $mdir"; return 1
    fi
    # Same transformation as upstream's generate step: stamp the version into the schema.
    jq --arg v "$K8S_PROVIDER_VERSION" '.version = $v' "$mdir/cmd/pulumi-resource-kubernetes/schema.json" >"$scratch/schema-embed.json"
    cp "$mdir/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$scratch/terraform-mapping-embed.json"
    chmod u+w "$scratch"/*.json
  else
    scratch="$here/go/k8sprovider"
  fi
  build pulumi-resource-kubernetes "$scratch" . \
    "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION"
}

# Lanes, longest cold build first, with each lane's estimated peak memory in MiB (measured on
# 2 cores, see docs/ARCHITECTURE.md).
lane_order=(k8sprovider:4400 kube:2100 pulumi:1100 coredns:1200 kube-bench:1000 etcd:500 kube-router:900 containerd:700
  kubectl:1200 kubesec:600 kube-score:700 crane:500 runc:300 cni:200 trivy:3000)

# Which lanes have work: a binary of the selection that is not verified.
declare -A todo=()
for b in "${binaries[@]}"; do
  if verified "$b"; then
    say "$b $(reported_version "$b") (cached)"; : >"$run/done-$b"
  else
    todo[$(wrapper_of "$b")]+=" $b"
  fi
done

lanes_max=${HCB_BUILD_LANES:-2}
avail_mib=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo 2>/dev/null || echo 8192)
budget=${HCB_BUILD_MEM_MIB:-$((avail_mib * 8 / 10))}
pending=()
for l in "${lane_order[@]}"; do [ -n "${todo[${l%%:*}]:-}" ] && pending+=("$l"); done
[ ${#pending[@]} -gt 0 ] && say "$(ready)/$total ready; to build: ${todo[*]} (${#pending[@]} lanes, up to $lanes_max at a time, memory budget ${budget} MiB)"

declare -A running=()   # lane -> pid
declare -A lane_mem=()  # lane -> estimated MiB
failed=()
t0=$SECONDS
next=$((SECONDS + 30))
while [ ${#pending[@]} -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
  # Start lanes while there is a free slot and memory for the next one (one always may run).
  while [ ${#pending[@]} -gt 0 ] && [ ${#running[@]} -lt "$lanes_max" ]; do
    local_lane=${pending[0]%%:*} est=${pending[0]##*:}
    used=0; for l in "${!lane_mem[@]}"; do used=$((used + lane_mem[$l])); done
    if [ ${#running[@]} -gt 0 ] && [ $((used + est)) -gt "$budget" ]; then break; fi
    pending=("${pending[@]:1}")
    # shellcheck disable=SC2086 # the lane's binaries are words
    ( set +e; "lane_$local_lane" ${todo[$local_lane]} ) &
    running[$local_lane]=$!
    lane_mem[$local_lane]=$est
  done
  sleep 1
  for l in "${!running[@]}"; do
    if ! kill -0 "${running[$l]}" 2>/dev/null; then
      if ! wait "${running[$l]}"; then failed+=("$l"); fi
      unset "running[$l]" "lane_mem[$l]"
    fi
  done
  if [ $SECONDS -ge $next ] && [ ${#running[@]} -gt 0 ]; then
    now=""
    for l in "${!running[@]}"; do
      if read -r n s <"$run/current-$l" 2>/dev/null; then now+=" $n ($((SECONDS - s))s)"; else now+=" $l (preparing)"; fi
    done
    say "... $(ready)/$total ready after $((SECONDS - t0))s; building:$now${pending[0]:+; waiting: ${#pending[@]} lanes}"
    next=$((SECONDS + 30))
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  for l in "${failed[@]}"; do
    n=$(cat "$run/failed-$l" 2>/dev/null || echo "$l")
    if [ -f "$prefix/logs/$n.log" ]; then say "--- last lines of $prefix/logs/$n.log"; tail -n 30 "$prefix/logs/$n.log" >&2; fi
  done
  die "building failed in: ${failed[*]} ($(ready)/$total binaries ready; the others stay cached)"
fi
for b in "${binaries[@]}"; do verified "$b" || die "$b is not verified after the build"; done

{
  echo "{"
  for b in "${core[@]}" "${node[@]}" "${checkers[@]}" "${bench[@]}"; do
    [ -x "$bin/$b" ] && printf '  "%s": "%s",\n' "$b" "$(reported_version "$b")"
  done
  printf '  "key": "%s"\n}\n' "$key"
} >"$prefix/versions.json"
[ ${#todo[@]} -gt 0 ] && say "built in $((SECONDS - t0))s"
say "toolchain ready in $bin"
echo "$bin"
}

main "$@"
exit $?
