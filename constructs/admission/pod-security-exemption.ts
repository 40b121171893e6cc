import type { ControlException } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';

/** Why an exemption exists, who owns it and until when (the same fields as a ControlException). */
export interface ExemptionRecord {
  /** Why the exemption is needed; must not be empty. */
  readonly justification: string;
  /** Team or person answering for it; must not be empty. */
  readonly owner: string;
  /** ISO date (YYYY-MM-DD), valid through that day (UTC); an expired exemption fails construction. */
  readonly expires: string;
  /** Tracking ticket. @default - none */
  readonly ticket?: string;
}

/** What a Pod Security exemption applies to (the three PodSecurityConfiguration exemption lists). */
export type PodSecurityExemptionKind = 'namespace' | 'username' | 'runtimeClass';

/**
 * One reviewed Pod Security admission exemption. There is no way to write an exemption
 * without a justification, an owner and an expiry date.
 */
export class PodSecurityExemption {
  /** Exempts every pod in a namespace. */
  public static namespace(name: string, record: ExemptionRecord): PodSecurityExemption {
    return new PodSecurityExemption('namespace', name, record);
  }

  /** Exempts requests by an authenticated user name (e.g. a controller's service account). */
  public static username(name: string, record: ExemptionRecord): PodSecurityExemption {
    return new PodSecurityExemption('username', name, record);
  }

  /** Exempts pods that use a RuntimeClass. */
  public static runtimeClass(name: string, record: ExemptionRecord): PodSecurityExemption {
    return new PodSecurityExemption('runtimeClass', name, record);
  }

  /**
   * From a catalogue exception: scope.namespace (without kind) exempts the namespace;
   * scope.kind 'User' or 'RuntimeClass' with scope.name exempts that user or RuntimeClass.
   */
  public static fromControlException(e: ControlException): PodSecurityExemption {
    const record: ExemptionRecord = {
      justification: e.justification,
      owner: e.owner,
      expires: e.expires,
      ticket: e.ticket,
    };
    const { kind, name, namespace } = e.scope ?? {};
    if (kind === 'User' && name) return PodSecurityExemption.username(name, record);
    if (kind === 'RuntimeClass' && name) return PodSecurityExemption.runtimeClass(name, record);
    if (namespace && (kind === undefined || kind === 'Namespace') && name === undefined)
      return PodSecurityExemption.namespace(namespace, record);
    if (kind === 'Namespace' && name && namespace === undefined) return PodSecurityExemption.namespace(name, record);
    throw new BlueprintPropError(
      'PodSecurityExemption',
      'exception.scope',
      e.scope,
      `the exception for control "${e.control}" does not name one namespace, user or RuntimeClass`,
      "use scope { namespace }, { kind: 'User', name } or { kind: 'RuntimeClass', name }",
    );
  }

  private constructor(
    public readonly kind: PodSecurityExemptionKind,
    public readonly name: string,
    public readonly record: ExemptionRecord,
  ) {}
}
