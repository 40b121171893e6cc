import { Construct } from 'constructs';
import { KubeRole, KubeRoleBinding, KubeSecret, KubeServiceAccount } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import { claimObjectName } from '../common/collisions';
import { objectNameFrom, requireDnsLabel, requireDnsSubdomain, requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';
import { AccessPreset } from './access-presets';
import { NamespaceAccess } from './namespace-access';
import { renderSubjects, Subject } from './subject';

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
  /**
   * 'token-request' only: who may request tokens for this account, e.g. the CI system's own
   * identity or a secrets manager that hands the pipeline a short-lived token (Vault's Kubernetes
   * secrets engine does this). They get a Role `<sa>-token-issuer` with one rule: `create` on
   * `serviceaccounts/token`, limited by resourceNames to this ServiceAccount, and a RoleBinding.
   * Nothing else: they cannot mint tokens for any other account of the namespace (which would let
   * them act as every workload), read Secrets, or use the account's rights except through a token
   * they request, which the API server records in the audit log. The account itself is refused as
   * an issuer: an identity that renews its own token keeps a stolen token alive for ever.
   * @default - none: someone with wider rights (the platform team) requests the tokens
   */
  readonly tokenIssuers?: Subject[];
}

/**
 * An identity for automation (CI/CD) with its own ServiceAccount, a preset Role in one namespace
 * and one token per program. Automount is off: the account is used from outside the pods.
 */
export class AutomationIdentity extends Construct {
  public readonly serviceAccountName: string;
  /** Names of the token Secrets (empty with 'token-request'). */
  public readonly tokenSecretNames: string[];
  /** Name of the token issuer Role and RoleBinding (`<sa>-token-issuer`), when tokenIssuers are given. */
  public readonly tokenIssuerRoleName?: string;

  constructor(scope: Construct, id: string, props: AutomationIdentityProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    const name = (this.serviceAccountName = objectNameFrom(this, id, props.name, 'ci-deployer'));
    claimObjectName(
      this,
      'name',
      { kind: 'ServiceAccount', namespace, name },
      'an AutomationIdentity',
      (other) => `give one of the two another name (props.name); the other ServiceAccount is rendered by ${other.path}`,
    );
    if (!Array.isArray(props.programs) || props.programs.length === 0) {
      throw new BlueprintPropError(
        this,
        'programs',
        props.programs,
        'needs at least one program',
        'list the pipelines that use the account, e.g. ["gitlab-main"]',
      );
    }
    const seen = new Set<string>();
    props.programs.forEach((p, i) => {
      requireDnsLabel(this, `programs[${i}]`, p);
      if (seen.has(p))
        throw new BlueprintPropError(
          this,
          `programs[${i}]`,
          p,
          'is listed twice',
          'list each program once; each gets its own token',
        );
      seen.add(p);
    });
    const tokens = props.tokens ?? 'token-request';
    if (tokens !== 'token-request' && tokens !== 'secret') {
      throw new BlueprintPropError(this, 'tokens', tokens, 'is not a token mode', "use 'token-request' or 'secret'");
    }
    stampProvenance(
      new KubeServiceAccount(this, 'Resource', {
        metadata: { name, namespace, annotations: { 'hcb.dev/automation-programs': props.programs.join(',') } },
        automountServiceAccountToken: false,
      }),
    );
    new NamespaceAccess(this, 'Access', {
      namespace,
      preset: props.preset ?? 'deployer',
      name: `${name}-${props.preset ?? 'deployer'}`,
      subjects: [Subject.serviceAccount(namespace, name)],
    });
    this.tokenSecretNames = [];
    if (props.tokenIssuers !== undefined) {
      if (tokens !== 'token-request') {
        throw new BlueprintPropError(
          this,
          'tokenIssuers',
          props.tokenIssuers.map((s) => s?.name),
          "issue tokens through the TokenRequest API, which 'secret' mode does not use",
          "drop tokenIssuers, or use tokens: 'token-request'",
        );
      }
      const issuers = renderSubjects(this, 'tokenIssuers', props.tokenIssuers);
      issuers.forEach((s, i) => {
        if (s.kind === 'ServiceAccount' && s.name === name && s.namespace === namespace) {
          throw new BlueprintPropError(
            this,
            `tokenIssuers[${i}]`,
            `${namespace}/${name}`,
            'is the account itself: an identity that renews its own token keeps a stolen token alive for ever',
            'name the CI system, a secrets manager or the platform team as issuer',
          );
        }
      });
      const issuerName = (this.tokenIssuerRoleName = requireDnsSubdomain(this, 'name', `${name}-token-issuer`));
      for (const kind of ['Role', 'RoleBinding']) {
        claimObjectName(
          this,
          'tokenIssuers',
          { kind, namespace, name: issuerName },
          `the token issuer ${kind} of an AutomationIdentity`,
          (other) => `give the account another name (props.name); the other ${kind} is rendered by ${other.path}`,
        );
      }
      const labels = { 'hcb.dev/token-issuer-for': name };
      stampProvenance(
        new KubeRole(this, 'TokenIssuerRole', {
          metadata: { name: issuerName, namespace, labels },
          // resourceNames works for create here: the TokenRequest URL names the account
          // (POST .../serviceaccounts/<name>/token), so the authorizer sees the name.
          rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [name] }],
        }),
      );
      stampProvenance(
        new KubeRoleBinding(this, 'TokenIssuerBinding', {
          metadata: { name: issuerName, namespace, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: issuerName },
          subjects: issuers,
        }),
      );
    }
    if (tokens === 'secret') {
      for (const program of props.programs) {
        const secretName = requireDnsSubdomain(this, 'programs', `${name}-${program}`);
        this.tokenSecretNames.push(secretName);
        stampProvenance(
          new KubeSecret(this, `Token-${program}`, {
            metadata: {
              name: secretName,
              namespace,
              annotations: { 'kubernetes.io/service-account.name': name, 'hcb.dev/automation-program': program },
            },
            type: 'kubernetes.io/service-account-token',
          }),
        );
      }
    }
  }
}
