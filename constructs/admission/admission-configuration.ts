import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { NodeConfigFile } from '../control-plane/node-config-file';
import { ADMISSION_CONFIG_PATH } from '../control-plane/paths';
import { ProtectionProfile } from '../control-plane/profile';
import { EventRateLimit, EventRateLimitProps } from './event-rate-limit';
import { PodSecurityAdmission, PodSecurityAdmissionProps } from './pod-security-admission';

export interface AdmissionConfigurationProps {
  /** @default 'standard' */
  readonly profile?: ProtectionProfile;
  /** @default 'v1.36.3' */
  readonly kubernetesVersion?: string;
  /** Pod Security admission defaults and exemptions. @default - profile defaults, no exemptions */
  readonly podSecurity?: PodSecurityAdmissionProps;
  /**
   * EventRateLimit plugin configuration; false leaves the plugin out.
   * @default - enabled with default limits for the standard and high profiles, off for basic
   */
  readonly eventRateLimit?: EventRateLimitProps | false;
}

/**
 * The API server's AdmissionConfiguration (apiserver.config.k8s.io/v1) for
 * --admission-control-config-file, carrying the PodSecurity (and EventRateLimit) plugin
 * configuration inline (STIG V-254800).
 */
export class AdmissionConfiguration extends NodeConfigFile {
  public readonly podSecurity: PodSecurityAdmission;
  public readonly eventRateLimit?: EventRateLimit;

  constructor(scope: Construct, id: string, props: AdmissionConfigurationProps = {}) {
    super(scope, id, { path: ADMISSION_CONFIG_PATH, mode: 0o600, role: 'admission-config', sensitive: false });
    const profile = props.profile ?? 'standard';
    this.podSecurity = new PodSecurityAdmission(
      this,
      'PodSecurity',
      { kubernetesVersion: props.kubernetesVersion ?? 'v1.36.3', profile },
      props.podSecurity,
    );
    const erl = props.eventRateLimit ?? (profile === 'basic' ? false : {});
    if (erl !== false) this.eventRateLimit = new EventRateLimit(this, 'EventRateLimit', erl);
  }

  /** Admission plugins this file configures (to be enabled on the API server). */
  public get pluginNames(): string[] {
    return this.eventRateLimit ? ['EventRateLimit', 'PodSecurity'] : ['PodSecurity'];
  }

  protected describe(): string {
    return 'kube-apiserver admission plugin configuration (--admission-control-config-file)';
  }

  public toObjects(): KubeObject[] {
    const plugins: Array<Record<string, unknown>> = [];
    if (this.eventRateLimit) plugins.push({ name: 'EventRateLimit', configuration: this.eventRateLimit.toObject() });
    plugins.push({ name: 'PodSecurity', configuration: this.podSecurity.toObject() });
    return [{ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'AdmissionConfiguration', plugins }];
  }
}
