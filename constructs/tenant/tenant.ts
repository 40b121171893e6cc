import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { AccessPreset } from '../rbac/access-presets';
import { AutomationIdentity } from '../rbac/automation-identity';
import { NamespaceAccess } from '../rbac/namespace-access';
import { Subject } from '../rbac/subject';
import { HardenedNamespace, HardenedNamespaceProps } from './hardened-namespace';
import { isDnsLabel, requireDnsLabel } from './names';
import { ProtectionNeed } from './protection-need';

/** Who gets which preset in a tenant's namespaces. Omitted lists grant nothing. */
export interface TenantAccess {
  /** @default - none */
  readonly viewers?: Subject[];
  /** @default - none */
  readonly developers?: Subject[];
  /** @default - none */
  readonly deployers?: Subject[];
  /** @default - none */
  readonly namespaceAdmins?: Subject[];
  /**
   * Lets the namespace admins read Secrets through the API (NamespaceAccessProps.readSecrets).
   * Off by default: the namespace-admin preset then creates and deletes Secrets but never reads
   * them, and audits clean. When on, its Role fails HCB-RBAC-SECRETS-READ by design; record a
   * reviewed exception for Role `hcb-namespace-admin` in the namespaces concerned.
   * @default false
   */
  readonly namespaceAdminsReadSecrets?: boolean;
}

/** One environment (namespace) of a tenant. */
export interface TenantEnvironment {
  /** Environment name; the namespace is `<team>-<name>`. */
  readonly name: string;
  /**
   * Protection need of this environment.
   * @default - the tenant's protectionNeed
   */
  readonly protectionNeed?: ProtectionNeed;
  /**
   * Further HardenedNamespace props (size, quota, exception ...).
   * @default - HardenedNamespace defaults
   */
  readonly namespace?: Omit<HardenedNamespaceProps, 'name' | 'team' | 'environment' | 'app' | 'protectionNeed'>;
  /**
   * Access in this environment, replacing the tenant-wide access (e.g. no developers in prod).
   * @default - the tenant's access
   */
  readonly access?: TenantAccess;
}

/** Automation (CI/CD) identity that deploys into every environment of the tenant. */
export interface TenantAutomation {
  /** Programs that deploy; each gets its own token (BSI APP.4.4.A9). */
  readonly programs: string[];
  /** @default 'token-request' */
  readonly tokens?: 'token-request' | 'secret';
  /**
   * Who may request tokens for the deployer account of each namespace (AutomationIdentityProps.tokenIssuers).
   * @default - none
   */
  readonly tokenIssuers?: Subject[];
}

export interface TenantProps {
  /**
   * Team name (RFC 1123 label), prefix of every namespace.
   * @default - the construct id, if it is a valid label
   */
  readonly team?: string;
  /**
   * Application label on every namespace.
   * @default - the team name
   */
  readonly app?: string;
  /**
   * Default protection need of the environments.
   * @default 'normal'
   */
  readonly protectionNeed?: ProtectionNeed;
  /**
   * The tenant's environments, one hardened namespace each (BSI APP.4.4.A1: test and production
   * separated).
   * @default - [{ name: 'dev' }, { name: 'prod' }]
   */
  readonly environments?: TenantEnvironment[];
  /**
   * Access presets granted in every environment (overridable per environment).
   * @default - nobody gets access
   */
  readonly access?: TenantAccess;
  /**
   * A deployer identity (ServiceAccount `<team>-deployer`) in every environment.
   * @default - none
   */
  readonly automation?: TenantAutomation;
}

const ACCESS_KEYS: ReadonlyArray<[Exclude<keyof TenantAccess, 'namespaceAdminsReadSecrets'>, AccessPreset]> = [
  ['viewers', 'viewer'],
  ['developers', 'developer'],
  ['deployers', 'deployer'],
  ['namespaceAdmins', 'namespace-admin'],
];

/**
 * A team: N hardened namespaces (one per environment), the team's access presets bound in each,
 * and optionally a deployer identity per namespace with one token per automation program.
 */
export class Tenant extends Construct {
  public readonly team: string;
  /** The namespaces, in the order of `environments`. */
  public readonly namespaces: readonly HardenedNamespace[];
  private readonly byEnvironment = new Map<string, HardenedNamespace>();

  constructor(scope: Construct, id: string, props: TenantProps = {}) {
    super(scope, id);
    if (props.team === undefined && !isDnsLabel(id)) {
      throw new BlueprintPropError(
        this,
        'team',
        undefined,
        `no team given and the construct id "${id}" is not an RFC 1123 label`,
        'pass props.team, e.g. "payments"',
      );
    }
    const team = (this.team = requireDnsLabel(this, 'team', props.team ?? id));
    const envs = props.environments ?? [{ name: 'dev' }, { name: 'prod' }];
    if (!Array.isArray(envs) || envs.length === 0) {
      throw new BlueprintPropError(
        this,
        'environments',
        envs,
        'needs at least one environment',
        'pass e.g. [{ name: "dev" }, { name: "prod" }]',
      );
    }
    const namespaces: HardenedNamespace[] = [];
    envs.forEach((env, i) => {
      const envName = requireDnsLabel(this, `environments[${i}].name`, env?.name);
      if (this.byEnvironment.has(envName)) {
        throw new BlueprintPropError(
          this,
          `environments[${i}].name`,
          envName,
          'is listed twice',
          'give every environment its own name',
        );
      }
      const nsName = `${team}-${envName}`;
      if (!isDnsLabel(nsName)) {
        throw new BlueprintPropError(
          this,
          `environments[${i}].name`,
          envName,
          `the namespace name "${nsName}" is longer than 63 characters`,
          'shorten the team or the environment name',
        );
      }
      const ns = new HardenedNamespace(this, envName, {
        ...(env.namespace ?? {}),
        name: nsName,
        team,
        environment: envName,
        app: props.app ?? team,
        protectionNeed: env.protectionNeed ?? props.protectionNeed,
      });
      namespaces.push(ns);
      this.byEnvironment.set(envName, ns);
      const access = env.access ?? props.access ?? {};
      if (access.namespaceAdminsReadSecrets === true && access.namespaceAdmins === undefined) {
        throw new BlueprintPropError(
          this,
          env.access ? `environments[${i}].access.namespaceAdminsReadSecrets` : 'access.namespaceAdminsReadSecrets',
          true,
          'there are no namespaceAdmins to give it to',
          'list the namespaceAdmins, or remove namespaceAdminsReadSecrets',
        );
      }
      for (const [key, preset] of ACCESS_KEYS) {
        const subjects = access[key];
        if (subjects === undefined) continue;
        new NamespaceAccess(ns, `Access-${preset}`, {
          namespace: nsName,
          preset,
          subjects,
          ...(preset === 'namespace-admin' && access.namespaceAdminsReadSecrets !== undefined
            ? { readSecrets: access.namespaceAdminsReadSecrets }
            : {}),
        });
      }
      if (props.automation) {
        new AutomationIdentity(ns, 'Deployer', {
          namespace: nsName,
          name: `${team}-deployer`,
          programs: props.automation.programs,
          tokens: props.automation.tokens,
          ...(props.automation.tokenIssuers !== undefined ? { tokenIssuers: props.automation.tokenIssuers } : {}),
        });
      }
    });
    this.namespaces = namespaces;
  }

  /** The namespace of one environment. */
  public namespace(environment: string): HardenedNamespace {
    const ns = this.byEnvironment.get(environment);
    if (!ns)
      throw new Error(
        `hcb: ${this.node.path}: no environment "${environment}" (have ${[...this.byEnvironment.keys()].join(', ')})`,
      );
    return ns;
  }
}
