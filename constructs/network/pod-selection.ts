import { Construct } from 'constructs';
import { LabelSelector } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import { requireDnsSubdomain, requireLabels } from '../tenant/names';
import { SERVICE_ACCOUNT_LABEL } from './network-peer';

/** Which pods of a namespace a network policy applies to. */
export class PodSelection {
  /** Every pod of the namespace. */
  public static all(): PodSelection {
    return new PodSelection('all', {});
  }
  /** Pods carrying all of `labels`. */
  public static labels(labels: Record<string, string>): PodSelection {
    return new PodSelection('labels', labels);
  }
  /** Pods running as ServiceAccount `name` (by the `hcb.dev/service-account` label HardenedWorkload sets). */
  public static serviceAccount(name: string): PodSelection {
    return new PodSelection('serviceAccount', { [SERVICE_ACCOUNT_LABEL]: name }, name);
  }

  private constructor(
    private readonly kind: 'all' | 'labels' | 'serviceAccount',
    private readonly matchLabels: Record<string, string>,
    private readonly serviceAccountName?: string,
  ) {}

  /** True when this selects every pod. */
  public get isAll(): boolean {
    return this.kind === 'all';
  }

  /** Validates and renders the selector. */
  public render(scope: Construct, prop: string): LabelSelector {
    if (this.serviceAccountName !== undefined) {
      requireDnsSubdomain(scope, `${prop}.serviceAccount`, this.serviceAccountName);
      if (this.serviceAccountName.length > 63) {
        throw new BlueprintPropError(
          scope,
          `${prop}.serviceAccount`,
          this.serviceAccountName,
          'is too long for a label value',
          'use at most 63 characters',
        );
      }
    }
    if (this.kind === 'all') return {};
    const labels = requireLabels(scope, prop, this.matchLabels);
    if (Object.keys(labels).length === 0) {
      throw new BlueprintPropError(
        scope,
        prop,
        this.matchLabels,
        'is empty, which would select every pod',
        'name at least one label, or say so explicitly with PodSelection.all()',
      );
    }
    return { matchLabels: labels };
  }
}
