import { Construct } from 'constructs';
import { KubeSecret, KubeServiceAccount } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import { claimObjectName } from '../common/collisions';
import { isDnsSubdomain, requireDnsLabel, requireDnsSubdomain, requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';
import { AccessPreset } from './access-presets';
import { NamespaceAccess } from './namespace-access';
import { Subject } from './subject';

export interface AutomationIdentityProps {
  /** Namespace the automation deploys to. */
  readonly namespace: string;
  /**
   * Name of the ServiceAccount.
   * @default - the construct id, if it is a valid object name
   */
  readonly name?: string;
  /**
   * The automation programs (pipelines, operators) that use this account. Each gets its own
   * token, so one can be revoked or traced without the others (BSI APP.4.4.A9, A10).
   */
  readonly programs: string[];
  /**
   * Preset the account gets in the namespace.
   * @default 'deployer'
   */
  readonly preset?: AccessPreset;
  /**
   * How each program gets its token:
   * - 'token-request': nothing is stored in the cluster; each program asks the TokenRequest API
   *   for a short-lived token of its own (`kubectl create token <sa> --duration=1h`); the API
   *   server records a distinct credential ID per token in the audit log;
   * - 'secret': one long-lived `kubernetes.io/service-account-token` Secret per program, named
   *   `<sa>-<program>`; delete the Secret to revoke that program's token.
   * @default 'token-request'
   */
  readonly tokens?: 'token-request' | 'secret';
}

/**
 * An identity for automation (CI/CD) with its own ServiceAccount, a preset Role in one namespace
 * and one token per program. Automount is off: the account is used from outside the pods.
 */
export class AutomationIdentity extends Construct {
  public readonly serviceAccountName: string;
  /** Names of the token Secrets (empty with 'token-request'). */
  public readonly tokenSecretNames: string[];

  constructor(scope: Construct, id: string, props: AutomationIdentityProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    if (props.name === undefined && !isDnsSubdomain(id)) {
      throw new BlueprintPropError(this, 'name', undefined, `no name given and the construct id "${id}" is not an object name`, 'pass props.name, e.g. "ci-deployer"');
    }
    const name = this.serviceAccountName = requireDnsSubdomain(this, 'name', props.name ?? id);
    claimObjectName(this, 'name', { kind: 'ServiceAccount', namespace, name }, 'an AutomationIdentity',
      (other) => `give one of the two another name (props.name); the other ServiceAccount is rendered by ${other.path}`);
    if (!Array.isArray(props.programs) || props.programs.length === 0) {
      throw new BlueprintPropError(this, 'programs', props.programs, 'needs at least one program', 'list the pipelines that use the account, e.g. ["gitlab-main"]');
    }
    const seen = new Set<string>();
    props.programs.forEach((p, i) => {
      requireDnsLabel(this, `programs[${i}]`, p);
      if (seen.has(p)) throw new BlueprintPropError(this, `programs[${i}]`, p, 'is listed twice', 'list each program once; each gets its own token');
      seen.add(p);
    });
    const tokens = props.tokens ?? 'token-request';
    if (tokens !== 'token-request' && tokens !== 'secret') {
      throw new BlueprintPropError(this, 'tokens', tokens, 'is not a token mode', "use 'token-request' or 'secret'");
    }
    stampProvenance(new KubeServiceAccount(this, 'Resource', {
      metadata: { name, namespace, annotations: { 'hcb.dev/automation-programs': props.programs.join(',') } },
      automountServiceAccountToken: false,
    }));
    new NamespaceAccess(this, 'Access', {
      namespace, preset: props.preset ?? 'deployer', name: `${name}-${props.preset ?? 'deployer'}`,
      subjects: [Subject.serviceAccount(namespace, name)],
    });
    this.tokenSecretNames = [];
    if (tokens === 'secret') {
      for (const program of props.programs) {
        const secretName = requireDnsSubdomain(this, 'programs', `${name}-${program}`);
        this.tokenSecretNames.push(secretName);
        stampProvenance(new KubeSecret(this, `Token-${program}`, {
          metadata: {
            name: secretName, namespace,
            annotations: { 'kubernetes.io/service-account.name': name, 'hcb.dev/automation-program': program },
          },
          type: 'kubernetes.io/service-account-token',
        }));
      }
    }
  }
}
