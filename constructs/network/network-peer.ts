import { Construct } from 'constructs';
import { NetworkPolicyPeer } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import type { ServiceAccountRef } from '../rbac/subject';
import { requireDnsLabel, requireDnsSubdomain, requireLabels } from '../tenant/names';
import { cidrStrictlyContains, requireCidr } from './cidr';

/**
 * Label that HardenedWorkload puts on its pods with the name of their ServiceAccount, so that
 * network rules can select pods by identity (BSI APP.4.4.A18). NetworkPolicy itself cannot match
 * ServiceAccounts: the label is only as trustworthy as the RBAC that guards who may set pod labels.
 */
export const SERVICE_ACCOUNT_LABEL = 'hcb.dev/service-account';

type PeerSpec =
  | { kind: 'namespace'; namespace: string }
  | { kind: 'namespaces'; labels: Record<string, string> }
  | { kind: 'pods'; labels: Record<string, string>; namespace?: string }
  | { kind: 'serviceAccount'; name: string; namespace?: string }
  | { kind: 'samePods' }
  | { kind: 'cidr'; cidr: string; except: string[] }
  | { kind: 'apiServer'; cidrs: string[] };

/**
 * The other end of a network rule: who may connect (ingress) or where pods may connect to (egress).
 * Built with the static factories; validated when a construct renders it.
 */
export class NetworkPeer {
  /** All pods of the namespace called `name`. */
  public static namespace(name: string): NetworkPeer {
    return new NetworkPeer({ kind: 'namespace', namespace: name });
  }
  /** All pods of every namespace carrying `labels`. */
  public static namespacesWithLabels(labels: Record<string, string>): NetworkPeer {
    return new NetworkPeer({ kind: 'namespaces', labels });
  }
  /** Pods carrying `labels` in the policy's own namespace, or in `namespace` when given. */
  public static pods(labels: Record<string, string>, namespace?: string): NetworkPeer {
    return new NetworkPeer({ kind: 'pods', labels, namespace });
  }
  /**
   * Pods running as ServiceAccount `name` (by the `hcb.dev/service-account` label), in the policy's
   * namespace or `namespace`: `serviceAccount({ namespace, name })` (the form Subject.serviceAccount
   * takes too; namespace optional here), or positionally `serviceAccount(name, namespace?)`.
   */
  public static serviceAccount(
    account: Omit<ServiceAccountRef, 'namespace'> & { readonly namespace?: string },
  ): NetworkPeer;
  public static serviceAccount(name: string, namespace?: string): NetworkPeer;
  public static serviceAccount(
    account: string | (Omit<ServiceAccountRef, 'namespace'> & { readonly namespace?: string }),
    namespace?: string,
  ): NetworkPeer {
    if (typeof account === 'object' && account !== null)
      return new NetworkPeer({ kind: 'serviceAccount', name: account.name, namespace: account.namespace });
    return new NetworkPeer({ kind: 'serviceAccount', name: account, namespace });
  }
  /** Every pod of the policy's own namespace. */
  public static allPodsInNamespace(): NetworkPeer {
    return new NetworkPeer({ kind: 'samePods' });
  }
  /** An IP block, optionally with holes. Pod IPs should be matched with pod or namespace peers instead. */
  public static cidr(cidr: string, except: string[] = []): NetworkPeer {
    return new NetworkPeer({ kind: 'cidr', cidr, except });
  }
  /**
   * The Kubernetes API server. NetworkPolicy cannot select it by label: give the addresses of the
   * API server endpoints (`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`)
   * as /32 or /128 CIDRs and pair the rule with the endpoint port (usually `NetworkPort.tcp(6443)`).
   */
  public static apiServer(endpointCidrs: string[]): NetworkPeer {
    return new NetworkPeer({ kind: 'apiServer', cidrs: endpointCidrs });
  }

  private constructor(private readonly spec: PeerSpec) {}

  /** What kind of peer this is. */
  public get kind(): string {
    return this.spec.kind;
  }

  /** Validates and renders the peer into NetworkPolicy peers. */
  public render(scope: Construct, prop: string): NetworkPolicyPeer[] {
    const s = this.spec;
    const nsSelector = (ns: string) => ({
      matchLabels: { 'kubernetes.io/metadata.name': requireDnsLabel(scope, `${prop}.namespace`, ns) },
    });
    switch (s.kind) {
      case 'namespace':
        return [{ namespaceSelector: nsSelector(s.namespace), podSelector: {} }];
      case 'namespaces':
        return [
          {
            namespaceSelector: {
              matchLabels: requireNonEmptyLabels(scope, `${prop}.labels`, s.labels, 'NetworkPeer.namespace(name)'),
            },
          },
        ];
      case 'pods': {
        const podSelector = {
          matchLabels: requireNonEmptyLabels(scope, `${prop}.labels`, s.labels, 'NetworkPeer.allPodsInNamespace()'),
        };
        return [
          s.namespace === undefined ? { podSelector } : { namespaceSelector: nsSelector(s.namespace), podSelector },
        ];
      }
      case 'serviceAccount': {
        const name = requireDnsSubdomain(scope, `${prop}.serviceAccount`, s.name);
        const podSelector = {
          matchLabels: { [SERVICE_ACCOUNT_LABEL]: requireServiceAccountLabel(scope, `${prop}.serviceAccount`, name) },
        };
        return [
          s.namespace === undefined ? { podSelector } : { namespaceSelector: nsSelector(s.namespace), podSelector },
        ];
      }
      case 'samePods':
        return [{ podSelector: {} }];
      case 'cidr': {
        const outer = requireCidr(scope, `${prop}.cidr`, s.cidr);
        if (!Array.isArray(s.except)) {
          throw new BlueprintPropError(
            scope,
            `${prop}.except`,
            s.except,
            'must be a list of CIDRs',
            'pass an array such as ["10.0.5.0/24"]',
          );
        }
        s.except.forEach((e, i) => {
          const inner = requireCidr(scope, `${prop}.except[${i}]`, e);
          if (!cidrStrictlyContains(outer, inner)) {
            throw new BlueprintPropError(
              scope,
              `${prop}.except[${i}]`,
              e,
              `is not a smaller block inside ${s.cidr}`,
              'list only holes that lie inside the allowed block (same IP family, longer prefix)',
            );
          }
        });
        return [{ ipBlock: s.except.length > 0 ? { cidr: s.cidr, except: [...s.except] } : { cidr: s.cidr } }];
      }
      case 'apiServer': {
        if (!Array.isArray(s.cidrs) || s.cidrs.length === 0) {
          throw new BlueprintPropError(
            scope,
            `${prop}.apiServer`,
            s.cidrs,
            'needs at least one API server endpoint address',
            'pass the endpoint addresses of the `kubernetes` Service as /32 (or /128) CIDRs',
          );
        }
        return s.cidrs.map((c, i) => {
          const parsed = requireCidr(scope, `${prop}.apiServer[${i}]`, c);
          if (parsed.prefix !== (parsed.family === 4 ? 32 : 128)) {
            throw new BlueprintPropError(
              scope,
              `${prop}.apiServer[${i}]`,
              c,
              'is a network, not one API server address',
              'use a host CIDR (/32 for IPv4, /128 for IPv6) per API server endpoint',
            );
          }
          return { ipBlock: { cidr: c } };
        });
      }
    }
  }
}

function requireNonEmptyLabels(
  scope: Construct,
  prop: string,
  labels: Record<string, string>,
  instead: string,
): Record<string, string> {
  const out = requireLabels(scope, prop, labels);
  if (Object.keys(out).length === 0) {
    throw new BlueprintPropError(
      scope,
      prop,
      labels,
      'is empty, which would select everything',
      `name at least one label, or say so explicitly with ${instead}`,
    );
  }
  return out;
}

function requireServiceAccountLabel(scope: Construct, prop: string, name: string): string {
  if (name.length > 63) {
    throw new BlueprintPropError(
      scope,
      prop,
      name,
      'is longer than 63 characters, so it cannot be a label value',
      'use a ServiceAccount name of at most 63 characters',
    );
  }
  return name;
}
