/**
 * Which admission plugins a kube-apiserver runs, from its flags (k8s.io/kubernetes v1.36.3
 * pkg/kubeapiserver/options/admission.go and plugins.go; k8s.io/apiserver
 * pkg/server/options/admission.go):
 * - --enable-admission-plugins / --disable-admission-plugins (appending string slices): the
 *   default-on plugins, plus the enabled ones, minus the disabled ones; a plugin in both lists is
 *   refused ("overlapped").
 * - the deprecated --admission-control: exactly the plugins listed, every other plugin is disabled
 *   (computePluginNames); it cannot be combined with the two flags above.
 */
import { ComponentConfig } from '../control';

/** Plugins on by default (DefaultOffAdmissionPlugins: every plugin except these is off). */
export const DEFAULT_ON_ADMISSION_PLUGINS: ReadonlySet<string> = new Set([
  'NamespaceLifecycle',
  'LimitRanger',
  'ServiceAccount',
  'DefaultStorageClass',
  'PersistentVolumeClaimResize',
  'DefaultTolerationSeconds',
  'MutatingAdmissionWebhook',
  'ValidatingAdmissionWebhook',
  'ResourceQuota',
  'StorageObjectInUseProtection',
  'PodGroupProtection',
  'Priority',
  'TaintNodesByCondition',
  'RuntimeClass',
  'CertificateApproval',
  'CertificateSigning',
  'ClusterTrustBundleAttest',
  'CertificateSubjectRestriction',
  'DefaultIngressClass',
  'PodSecurity',
  'PodTopologyLabels',
  'MutatingAdmissionPolicy',
  'ValidatingAdmissionPolicy',
  'PodGroupWorkloadExists',
  'NodeDeclaredFeatureValidator',
  'JobValidation',
  'PodResizeValidator',
]);

export interface AdmissionPlugins {
  /** True when the API server runs the plugin. */
  enabled(name: string): boolean;
  /** How the plugin came to be on or off, for messages. */
  why(name: string): string;
  /** Why the API server refuses these flags (it does not start); empty when it accepts them. */
  problems: string[];
}

export function admissionPlugins(c: Pick<ComponentConfig, 'effective' | 'list'>): AdmissionPlugins {
  const legacy = c.effective('admission-control');
  const enable = c.effective('enable-admission-plugins');
  const disable = c.effective('disable-admission-plugins');
  const problems: string[] = [];
  for (const f of [legacy, enable, disable]) if (f?.invalid) problems.push(f.invalid);
  if (legacy && (enable || disable))
    problems.push('--admission-control cannot be combined with --enable-admission-plugins/--disable-admission-plugins');
  if (legacy) {
    const listed = new Set(c.list('admission-control'));
    return {
      problems,
      enabled: (n) => listed.has(n),
      why: (n) =>
        listed.has(n)
          ? `--admission-control lists ${n}`
          : `--admission-control does not list ${n}, so it is off (that flag disables every plugin it does not name)`,
    };
  }
  const on = new Set(c.list('enable-admission-plugins'));
  const off = new Set(c.list('disable-admission-plugins'));
  const both = [...on].filter((n) => off.has(n));
  if (both.length > 0)
    problems.push(`${both.join(', ')} in both --enable-admission-plugins and --disable-admission-plugins`);
  return {
    problems,
    enabled: (n) => on.has(n) || (DEFAULT_ON_ADMISSION_PLUGINS.has(n) && !off.has(n)),
    why: (n) =>
      on.has(n)
        ? `--enable-admission-plugins includes ${n}`
        : off.has(n)
          ? `--disable-admission-plugins includes ${n}`
          : DEFAULT_ON_ADMISSION_PLUGINS.has(n)
            ? `${n} is on by default and not disabled`
            : `${n} is off by default and --enable-admission-plugins does not include it`,
  };
}
