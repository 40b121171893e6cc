# Sourced by the project's scripts: sets up the built toolchain and an offline Pulumi.
#   HCB_STATE_DIR  private state (Pulumi backend, passphrase, local cluster); default <repo>/.hcb
# Requires the toolchain to be built (tools/build-toolchain.sh).
HCB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export HCB_ROOT
export HCB_STATE_DIR=${HCB_STATE_DIR:-$HCB_ROOT/.hcb}
mkdir -p "$HCB_STATE_DIR" && chmod 700 "$HCB_STATE_DIR"

HCB_TOOLCHAIN_BIN=$(bash "$HCB_ROOT/tools/build-toolchain.sh" --bin-dir) || return 1
export HCB_TOOLCHAIN_BIN
# The SDK package ships the dynamic-provider and policy-pack shims the CLI looks for on PATH.
export PATH="$HCB_TOOLCHAIN_BIN:$HCB_ROOT/node_modules/@pulumi/pulumi:$HCB_ROOT/node_modules/.bin:$PATH"

# Offline Pulumi: local file backend, no update checks, no plugin downloads.
export PULUMI_HOME=${PULUMI_HOME:-$HCB_STATE_DIR/pulumi-home}
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$HCB_STATE_DIR/pulumi-state}
mkdir -p "$PULUMI_HOME" "${PULUMI_BACKEND_URL#file://}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
export PULUMI_NODEJS_TRANSPILE_ONLY=true
# Stack secrets are encrypted with a passphrase kept in the state directory (never in git).
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$HCB_STATE_DIR/passphrase" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$HCB_STATE_DIR/passphrase")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$HCB_STATE_DIR/passphrase"
fi

# The provider plugin goes into Pulumi's plugin cache under its exact version.
# shellcheck source=../tools/versions.env
. "$HCB_ROOT/tools/versions.env"
if [ ! -x "$PULUMI_HOME/plugins/resource-kubernetes-v$K8S_PROVIDER_VERSION/pulumi-resource-kubernetes" ]; then
  pulumi plugin install resource kubernetes "$K8S_PROVIDER_VERSION" \
    --file "$HCB_TOOLCHAIN_BIN/pulumi-resource-kubernetes" >/dev/null
fi
