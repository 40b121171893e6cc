/**
 * One table per component: the flags the catalogue reads, with the pflag (or Go flag) type the
 * component registers them with. The type decides how repetitions combine and how a value is
 * parsed, so a check never reads a value differently from the component it checks.
 *
 * Confirmed in the v1.36.3 sources (k8s.io/kubernetes, k8s.io/apiserver, k8s.io/component-base,
 * k8s.io/controller-manager, k8s.io/cloud-provider v0.36.3; spf13/pflag v1.0.10; etcd v3.6):
 *
 * | type | registered with | repeated | value |
 * |---|---|---|---|
 * | bool | BoolVar | last wins | strconv.ParseBool; a bare `--flag` means true (NoOptDefVal) |
 * | int | IntVar | last wins | strconv.ParseInt(s, 0, 64) |
 * | int32 | Int32Var | last wins | strconv.ParseInt(s, 0, 32) |
 * | duration | DurationVar | last wins | time.ParseDuration |
 * | string | StringVar, IPVar | last wins | as written |
 * | stringSlice | StringSliceVar | appends (the first use replaces the default) | one CSV record (encoding/csv: quotes, no trimming) |
 * | stringArray | StringArrayVar | appends | as written, no splitting |
 * | featureGates | compatibility registry ColonSeparatedMultimapStringString, then featuregate.Set | appends; later keys win | `[component:]Key=bool`, strconv.ParseBool, a missing or empty value stops the component |
 * | configurationMap | cliflag.ConfigurationMap | merges; later keys win | `key[=value]`, trimmed |
 * | mapStringBool | cliflag.MapStringBool (kubelet --feature-gates) | merges; later keys win | `Key=bool`, strconv.ParseBool |
 *
 * etcd parses with Go's flag package: `-name` and `--name` are the same flag, names are not
 * normalized, a repeated flag replaces the value (its list flags included), and a flag given
 * neither on the command line nor as an argument is read from the ETCD_<NAME> environment
 * variable (go.etcd.io/etcd/pkg/v3/flags SetFlagsFromEnv).
 */
import { ComponentName } from '../control';

export type FlagType =
  | 'bool'
  | 'int'
  | 'int32'
  | 'duration'
  | 'string'
  | 'stringSlice'
  | 'stringArray'
  | 'featureGates'
  | 'configurationMap'
  | 'mapStringBool';

export interface FlagSpec {
  type: FlagType;
  /** Where the component registers the flag (module-relative path), for readers of this table. */
  at: string;
}

const API = 'k8s.io/apiserver pkg/server/options';
const KAPI = 'k8s.io/kubernetes pkg/kubeapiserver/options';

/** Flags shared by the API server, controller manager and scheduler (secure serving, feature gates). */
const SERVING: Record<string, FlagSpec> = {
  'bind-address': { type: 'string', at: `${API}/serving.go (IPVar)` },
  'secure-port': { type: 'int', at: `${API}/serving.go` },
  'tls-cert-file': { type: 'string', at: `${API}/serving.go` },
  'tls-private-key-file': { type: 'string', at: `${API}/serving.go` },
  'tls-cipher-suites': { type: 'stringSlice', at: `${API}/serving.go` },
  'tls-min-version': { type: 'string', at: `${API}/serving.go` },
  'tls-sni-cert-key': { type: 'stringArray', at: `${API}/serving.go (NamedCertKeyArray)` },
  'client-ca-file': { type: 'string', at: `${API}/authentication.go` },
  'requestheader-client-ca-file': { type: 'string', at: `${API}/authentication.go` },
  'requestheader-allowed-names': { type: 'stringSlice', at: `${API}/authentication.go` },
  'feature-gates': { type: 'featureGates', at: 'k8s.io/component-base compatibility/registry.go' },
  'emulated-version': { type: 'stringSlice', at: 'k8s.io/component-base compatibility/registry.go' },
};

export const COMPONENT_FLAGS: Record<ComponentName, Readonly<Record<string, FlagSpec>>> = {
  'kube-apiserver': {
    ...SERVING,
    'anonymous-auth': { type: 'bool', at: `${KAPI}/authentication.go` },
    'authentication-config': { type: 'string', at: `${KAPI}/authentication.go` },
    'token-auth-file': { type: 'string', at: `${KAPI}/authentication.go` },
    'enable-bootstrap-token-auth': { type: 'bool', at: `${KAPI}/authentication.go` },
    'service-account-key-file': { type: 'stringArray', at: `${KAPI}/authentication.go` },
    'service-account-issuer': { type: 'stringArray', at: `${KAPI}/authentication.go` },
    'service-account-lookup': { type: 'bool', at: `${KAPI}/authentication.go` },
    'api-audiences': { type: 'stringSlice', at: `${KAPI}/authentication.go` },
    'service-account-signing-key-file': {
      type: 'string',
      at: 'k8s.io/kubernetes pkg/controlplane/apiserver/options/options.go',
    },
    'authorization-mode': { type: 'stringSlice', at: `${KAPI}/authorization.go` },
    'authorization-config': { type: 'string', at: `${KAPI}/authorization.go` },
    'admission-control': { type: 'stringSlice', at: `${KAPI}/admission.go` },
    'enable-admission-plugins': { type: 'stringSlice', at: `${API}/admission.go` },
    'disable-admission-plugins': { type: 'stringSlice', at: `${API}/admission.go` },
    'admission-control-config-file': { type: 'string', at: `${API}/admission.go` },
    'runtime-config': { type: 'configurationMap', at: `${API}/api_enablement.go` },
    profiling: { type: 'bool', at: `${API}/feature.go` },
    'contention-profiling': { type: 'bool', at: `${API}/feature.go` },
    'request-timeout': { type: 'duration', at: `${API}/server_run_options.go` },
    'etcd-servers': { type: 'stringSlice', at: `${API}/etcd.go` },
    'etcd-cafile': { type: 'string', at: `${API}/etcd.go` },
    'etcd-certfile': { type: 'string', at: `${API}/etcd.go` },
    'etcd-keyfile': { type: 'string', at: `${API}/etcd.go` },
    'encryption-provider-config': { type: 'string', at: `${API}/etcd.go` },
    'audit-policy-file': { type: 'string', at: `${API}/audit.go` },
    'audit-log-path': { type: 'string', at: `${API}/audit.go` },
    'audit-log-maxage': { type: 'int', at: `${API}/audit.go` },
    'audit-log-maxbackup': { type: 'int', at: `${API}/audit.go` },
    'audit-log-maxsize': { type: 'int', at: `${API}/audit.go` },
    'audit-webhook-config-file': { type: 'string', at: `${API}/audit.go` },
    'allow-privileged': { type: 'bool', at: 'k8s.io/kubernetes cmd/kube-apiserver/app/options/options.go' },
    'kubelet-client-certificate': { type: 'string', at: 'k8s.io/kubernetes cmd/kube-apiserver/app/options/options.go' },
    'kubelet-client-key': { type: 'string', at: 'k8s.io/kubernetes cmd/kube-apiserver/app/options/options.go' },
    'kubelet-certificate-authority': {
      type: 'string',
      at: 'k8s.io/kubernetes cmd/kube-apiserver/app/options/options.go',
    },
    'enable-aggregator-routing': { type: 'bool', at: 'k8s.io/kubernetes cmd/kube-apiserver/app/options/options.go' },
    'cors-allowed-origins': { type: 'stringSlice', at: `${API}/server_run_options.go` },
  },
  'kube-controller-manager': {
    ...SERVING,
    profiling: { type: 'bool', at: 'k8s.io/controller-manager options/debugging.go' },
    'contention-profiling': { type: 'bool', at: 'k8s.io/controller-manager options/debugging.go' },
    controllers: { type: 'stringSlice', at: 'k8s.io/controller-manager options/generic.go' },
    'leader-elect': { type: 'bool', at: 'k8s.io/component-base config/options/leaderelectionconfig.go' },
    'use-service-account-credentials': { type: 'bool', at: 'k8s.io/cloud-provider options/kubecloudshared.go' },
    'root-ca-file': {
      type: 'string',
      at: 'k8s.io/kubernetes cmd/kube-controller-manager/app/options/serviceaccountcontroller.go',
    },
    'service-account-private-key-file': {
      type: 'string',
      at: 'k8s.io/kubernetes cmd/kube-controller-manager/app/options/serviceaccountcontroller.go',
    },
    'cluster-signing-cert-file': {
      type: 'string',
      at: 'k8s.io/kubernetes cmd/kube-controller-manager/app/options/csrsigningcontroller.go',
    },
    'cluster-signing-key-file': {
      type: 'string',
      at: 'k8s.io/kubernetes cmd/kube-controller-manager/app/options/csrsigningcontroller.go',
    },
    'authentication-skip-lookup': { type: 'bool', at: `${API}/authentication.go` },
  },
  'kube-scheduler': {
    ...SERVING,
    config: { type: 'string', at: 'k8s.io/kubernetes cmd/kube-scheduler/app/options/options.go' },
    // Deprecated flags: ignored when --config is given (Options.ApplyTo honours them only without it).
    profiling: { type: 'bool', at: 'k8s.io/kubernetes cmd/kube-scheduler/app/options/deprecated.go' },
    'contention-profiling': { type: 'bool', at: 'k8s.io/kubernetes cmd/kube-scheduler/app/options/deprecated.go' },
    'leader-elect': { type: 'bool', at: 'k8s.io/component-base config/options/leaderelectionconfig.go' },
  },
  etcd: {
    'data-dir': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'cert-file': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'key-file': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'trusted-ca-file': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'client-cert-auth': { type: 'bool', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'auto-tls': { type: 'bool', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'peer-cert-file': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'peer-key-file': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'peer-trusted-ca-file': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'peer-client-cert-auth': { type: 'bool', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'peer-auto-tls': { type: 'bool', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'listen-client-urls': {
      type: 'string',
      at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go (URLs, replaced on repetition)',
    },
    'listen-peer-urls': {
      type: 'string',
      at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go (URLs, replaced on repetition)',
    },
    'advertise-client-urls': {
      type: 'string',
      at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go (URLs, replaced on repetition)',
    },
    'cipher-suites': {
      type: 'string',
      at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go (StringsValue, replaced on repetition)',
    },
    'tls-min-version': { type: 'string', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'enable-pprof': { type: 'bool', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'strict-reconfig-check': { type: 'bool', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
    'snapshot-count': { type: 'int', at: 'go.etcd.io/etcd/server/v3 etcdmain/config.go' },
  },
};

/**
 * The type of a flag of a component. A flag that is not in the table is read as a plain string
 * (last occurrence wins); no check reads such a flag.
 */
export function flagSpec(component: ComponentName, name: string): FlagSpec {
  return (
    COMPONENT_FLAGS[component][name] ?? {
      type: 'string',
      at: '(not in the table: read as a string, last occurrence wins)',
    }
  );
}

/** True when the component knows the flag as a boolean (a bare `--flag` is true; the next word is not its value). */
export function isBoolFlag(component: ComponentName, name: string): boolean {
  return COMPONENT_FLAGS[component][name]?.type === 'bool';
}

/** Kubernetes components turn `_` into `-` in flag names (component-base cliflag.WordSepNormalizeFunc); etcd does not. */
export function normalizeFlagName(component: ComponentName | 'kubelet', name: string): string {
  return component === 'etcd' ? name : name.replace(/_/g, '-');
}
