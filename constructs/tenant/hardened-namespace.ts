import { Construct } from 'constructs';
import { KubeNamespace } from 'cdk8s-plus-28/lib/imports/k8s';
import { claimObjectName, registerHardenedNamespace } from '../common/collisions';
import { BlueprintPropError } from '../common/errors';
import { DefaultDenyNetworkPolicy } from '../network/default-deny';
import { DnsEgressNetworkPolicy } from '../network/dns-egress';
import { DefaultServiceAccountLockdown } from '../rbac/default-service-account';
import { ContainerLimitDefaults, NamespaceLimitRange, resolveContainerLimits } from './limit-range';
import { isDnsLabel, isLabelValue, requireDnsLabel, requireLabels, requireUserNamespace } from './names';
import { NamespaceSize, requireSize } from './namespace-size';
import {
  DEFAULT_POD_SECURITY_VERSION,
  PodSecurityException,
  NamespacePodSecurityLevel,
  podSecurityLabels,
  requirePodSecurityException,
  requirePodSecurityVersion,
} from './pod-security';
import {
  APP_LABEL,
  ENVIRONMENT_LABEL,
  PROTECTION_NEED_LABEL,
  ProtectionNeed,
  requireProtectionNeed,
  TEAM_LABEL,
} from './protection-need';
import { stampProvenance } from './provenance';
import { requireNotAbove } from './quantity';
import { NamespaceResourceQuota, ResourceQuotaLimits, resolveQuota } from './resource-quota';

export interface HardenedNamespaceProps {
  /**
   * Name of the namespace (RFC 1123 label). Reserved namespaces (default, kube-system,
   * kube-public, kube-node-lease) are refused.
   * @default - the construct id, if it is a valid RFC 1123 label
   */
  readonly name?: string;
  /**
   * Application the namespace holds (label `hcb.dev/app`, BSI APP.4.4.A1).
   * @default - the namespace name
   */
  readonly app?: string;
  /**
   * Protection need of the application (label `hcb.dev/protection-need`, BSI APP.4.4.A1).
   * `very-high` refuses a Pod Security exception.
   * @default 'normal'
   */
  readonly protectionNeed?: ProtectionNeed;
  /**
   * Team that owns the namespace (label `hcb.dev/team`).
   * @default - no team label
   */
  readonly team?: string;
  /**
   * Environment, e.g. 'dev', 'staging', 'prod' (label `hcb.dev/environment`).
   * @default - no environment label
   */
  readonly environment?: string;
  /**
   * Further labels for the namespace. Keys under `hcb.dev/` and `pod-security.kubernetes.io/`
   * are the blueprint's and are refused here.
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /**
   * Pod Security Standards version pinned in the `*-version` labels.
   * @default 'v1.36'
   */
  readonly podSecurityVersion?: string;
  /**
   * A reviewed exception that enforces `baseline` instead of `restricted` (audit and warn stay
   * `restricted`). Without it the namespace enforces `restricted`.
   * @default - no exception: `restricted` is enforced
   */
  readonly podSecurityException?: PodSecurityException;
  /**
   * Size that picks quota and limit-range defaults.
   * @default 'small'
   */
  readonly size?: NamespaceSize;
  /**
   * Overrides of the sized ResourceQuota.
   * @default - the figures of `size`; LoadBalancer and NodePort services 0
   */
  readonly quota?: ResourceQuotaLimits;
  /**
   * Overrides of the sized per-container LimitRange defaults and maxima.
   * @default - the figures of `size`
   */
  readonly containerLimits?: ContainerLimitDefaults;
  /**
   * Whether pods may resolve names through the cluster DNS (the only egress allowed by default).
   * @default true
   */
  readonly allowDns?: boolean;
  /**
   * Namespace of the cluster DNS.
   * @default 'kube-system'
   */
  readonly dnsNamespace?: string;
  /**
   * Labels of the cluster DNS pods.
   * @default { 'k8s-app': 'kube-dns' }
   */
  readonly dnsPodLabels?: Record<string, string>;
}

const OWN_LABEL_PREFIXES = ['hcb.dev/', 'pod-security.kubernetes.io/'];

/**
 * An application namespace with the hardening every tenant namespace needs:
 * - Pod Security Admission labels, `restricted` enforced, audited and warned, version pinned
 *   (STIG V-254800; `baseline` only through a typed, expiring exception);
 * - NetworkPolicies: default deny for ingress and egress, plus egress to the cluster DNS only
 *   (BSI APP.4.4.A7, A18);
 * - a ResourceQuota and a LimitRange sized by props (BSI APP.4.4.A1);
 * - the `default` ServiceAccount without token automount and without bindings (BSI APP.4.4.A9);
 * - labels recording application, protection need, team and environment (BSI APP.4.4.A1).
 * Reserved namespaces are refused (STIG V-242383, V-242417).
 */
export class HardenedNamespace extends Construct {
  /** Name of the Namespace. */
  public readonly namespaceName: string;
  /** Application label value. */
  public readonly app: string;
  /** Protection need recorded on the namespace. */
  public readonly protectionNeed: ProtectionNeed;
  /** Pod Security level enforced ('restricted' unless an exception is given). */
  public readonly podSecurityLevel: NamespacePodSecurityLevel;
  /** Pinned Pod Security Standards version. */
  public readonly podSecurityVersion: string;
  /** Name of the default-deny NetworkPolicy. */
  public readonly defaultDenyPolicyName: string;
  /** Name of the DNS egress NetworkPolicy, or undefined when `allowDns` is false. */
  public readonly dnsPolicyName?: string;
  /** Name of the ResourceQuota. */
  public readonly resourceQuotaName: string;
  /** Name of the LimitRange. */
  public readonly limitRangeName: string;
  /** Name of the locked-down default ServiceAccount (always 'default'). */
  public readonly defaultServiceAccountName: string;
  /** Labels on the Namespace (blueprint labels and PSA labels included). */
  public readonly labels: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: HardenedNamespaceProps = {}) {
    super(scope, id);
    if (props.name === undefined && !isDnsLabel(id)) {
      throw new BlueprintPropError(
        this,
        'name',
        undefined,
        `no name given and the construct id "${id}" is not an RFC 1123 label`,
        'pass props.name, e.g. "payments-prod", or use an id made of lower-case letters, digits and \'-\'',
      );
    }
    const name = (this.namespaceName = requireUserNamespace(this, 'name', props.name ?? id));
    claimObjectName(
      this,
      'name',
      { kind: 'Namespace', name },
      'a HardenedNamespace',
      () =>
        'create each namespace once (a Tenant creates <team>-<environment>); pass the HardenedNamespace around instead of building it twice',
    );
    registerHardenedNamespace(this, name);
    const app = (this.app = props.app ?? name);
    if (!isLabelValue(app) || app === '') {
      throw new BlueprintPropError(
        this,
        'app',
        app,
        'must be a non-empty label value',
        "use at most 63 letters, digits, '-', '_' or '.'",
      );
    }
    this.protectionNeed = requireProtectionNeed(this, 'protectionNeed', props.protectionNeed ?? 'normal');
    if (props.team !== undefined) requireDnsLabel(this, 'team', props.team);
    if (props.environment !== undefined) requireDnsLabel(this, 'environment', props.environment);
    const extra = requireLabels(this, 'labels', props.labels);
    for (const key of Object.keys(extra)) {
      if (OWN_LABEL_PREFIXES.some((p) => key.startsWith(p))) {
        throw new BlueprintPropError(
          this,
          `labels.${key}`,
          extra[key],
          'this label is set by the blueprint',
          'use the typed prop instead (app, protectionNeed, team, environment, podSecurityVersion, podSecurityException)',
        );
      }
    }
    const version = (this.podSecurityVersion = requirePodSecurityVersion(
      this,
      'podSecurityVersion',
      props.podSecurityVersion ?? DEFAULT_POD_SECURITY_VERSION,
    ));
    let exception: PodSecurityException | undefined;
    if (props.podSecurityException !== undefined) {
      if (this.protectionNeed === 'very-high') {
        throw new BlueprintPropError(
          this,
          'podSecurityException',
          props.podSecurityException,
          'a namespace with protection need "very-high" must enforce Pod Security "restricted"',
          'remove the exception and fix the workloads, or move them to a namespace with a lower protection need',
        );
      }
      exception = requirePodSecurityException(
        this,
        'podSecurityException',
        props.podSecurityException,
        new Date().toISOString().slice(0, 10),
      );
    }
    this.podSecurityLevel = exception ? exception.level : 'restricted';

    // Quota and limits are validated here first, so errors name this construct and the prop path.
    const size = requireSize(this, 'size', props.size ?? 'small');
    const quota = resolveQuota(this, size, props.quota ?? {}, 'quota.');
    const limits = resolveContainerLimits(this, size, props.containerLimits ?? {}, 'containerLimits.');
    requireNotAbove(this, 'containerLimits.maxCpu', limits.maxCpu, 'quota.limitsCpu', quota.limitsCpu);
    requireNotAbove(this, 'containerLimits.maxMemory', limits.maxMemory, 'quota.limitsMemory', quota.limitsMemory);
    requireNotAbove(
      this,
      'containerLimits.defaultRequestCpu',
      limits.defaultRequestCpu,
      'quota.requestsCpu',
      quota.requestsCpu,
    );
    requireNotAbove(
      this,
      'containerLimits.defaultRequestMemory',
      limits.defaultRequestMemory,
      'quota.requestsMemory',
      quota.requestsMemory,
    );
    requireNotAbove(
      this,
      'containerLimits.maxEphemeralStorage',
      limits.maxEphemeralStorage,
      'quota.limitsEphemeralStorage',
      quota.limitsEphemeralStorage,
    );
    requireNotAbove(
      this,
      'containerLimits.defaultRequestEphemeralStorage',
      limits.defaultRequestEphemeralStorage,
      'quota.requestsEphemeralStorage',
      quota.requestsEphemeralStorage,
    );

    const labels: Record<string, string> = {
      ...extra,
      [APP_LABEL]: app,
      [PROTECTION_NEED_LABEL]: this.protectionNeed,
      ...(props.team !== undefined ? { [TEAM_LABEL]: props.team } : {}),
      ...(props.environment !== undefined ? { [ENVIRONMENT_LABEL]: props.environment } : {}),
      ...podSecurityLabels(this.podSecurityLevel, version),
    };
    const sortedLabels: Record<string, string> = {};
    for (const k of Object.keys(labels).sort()) sortedLabels[k] = labels[k];
    this.labels = sortedLabels;

    const annotations: Record<string, string> = {};
    if (exception) {
      annotations['hcb.dev/pod-security-exception.expires'] = exception.expires;
      annotations['hcb.dev/pod-security-exception.justification'] = exception.justification;
      annotations['hcb.dev/pod-security-exception.owner'] = exception.owner;
      if (exception.ticket !== undefined) annotations['hcb.dev/pod-security-exception.ticket'] = exception.ticket;
    }
    stampProvenance(new KubeNamespace(this, 'Namespace', { metadata: { name, labels: sortedLabels, annotations } }));

    this.defaultDenyPolicyName = new DefaultDenyNetworkPolicy(this, 'DefaultDeny', { namespace: name }).policyName;
    if (props.allowDns ?? true) {
      this.dnsPolicyName = new DnsEgressNetworkPolicy(this, 'DnsEgress', {
        namespace: name,
        dnsNamespace: props.dnsNamespace,
        dnsPodLabels: props.dnsPodLabels,
      }).policyName;
    } else if (props.dnsNamespace !== undefined || props.dnsPodLabels !== undefined) {
      throw new BlueprintPropError(
        this,
        'allowDns',
        false,
        'dnsNamespace/dnsPodLabels are given but DNS egress is turned off',
        'either drop dnsNamespace and dnsPodLabels or set allowDns to true',
      );
    }
    this.resourceQuotaName = new NamespaceResourceQuota(this, 'Quota', { namespace: name, size, ...quota }).quotaName;
    this.limitRangeName = new NamespaceLimitRange(this, 'Limits', { namespace: name, size, ...limits }).limitRangeName;
    this.defaultServiceAccountName = new DefaultServiceAccountLockdown(this, 'DefaultServiceAccount', {
      namespace: name,
    }).serviceAccountName;
  }
}
