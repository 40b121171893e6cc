import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { NodeConfigFile } from './node-config-file';
import { AUTHENTICATION_CONFIG_PATH } from './paths';

/** Paths anonymous requests may reach when anonymous access is limited. */
export const ANONYMOUS_PATHS_ALLOWED: readonly string[] = [
  '/livez',
  '/readyz',
  '/healthz',
  '/version',
  '/api/v1/namespaces/kube-public/configmaps/cluster-info',
];

/** Health endpoints: what kubelet probes and load balancers call without credentials. */
export const DEFAULT_ANONYMOUS_PATHS: readonly string[] = ['/livez', '/readyz', '/healthz'];

export interface AuthenticationConfigurationProps {
  /**
   * The only paths anonymous requests may reach; every other path answers 401 to them even
   * if RBAC would allow it. Allowed values: ANONYMOUS_PATHS_ALLOWED.
   * @default ['/livez', '/readyz', '/healthz']
   */
  readonly anonymousPaths?: string[];
}

/**
 * AuthenticationConfiguration (apiserver.config.k8s.io/v1) for --authentication-config that
 * limits the anonymous authenticator to health endpoints (KEP-4633, GA in 1.34). It replaces
 * --anonymous-auth (the two are mutually exclusive).
 */
export class AuthenticationConfiguration extends NodeConfigFile {
  public readonly anonymousPaths: readonly string[];

  constructor(scope: Construct, id: string, props: AuthenticationConfigurationProps = {}) {
    super(scope, id, {
      path: AUTHENTICATION_CONFIG_PATH,
      mode: 0o600,
      role: 'authentication-config',
      sensitive: false,
    });
    const paths = props.anonymousPaths ?? [...DEFAULT_ANONYMOUS_PATHS];
    if (paths.length === 0) {
      throw new BlueprintPropError(
        this,
        'anonymousPaths',
        paths,
        'an empty list would enable anonymous access without conditions',
        "disable anonymous access instead (apiServer.anonymousAuth: 'disabled') or list health paths",
      );
    }
    paths.forEach((p, i) => {
      if (!ANONYMOUS_PATHS_ALLOWED.includes(p)) {
        throw new BlueprintPropError(
          this,
          `anonymousPaths[${i}]`,
          p,
          'anonymous access is only allowed to health, version and discovery endpoints',
          `choose from ${ANONYMOUS_PATHS_ALLOWED.join(', ')}`,
        );
      }
      if (paths.indexOf(p) !== i) {
        throw new BlueprintPropError(
          this,
          `anonymousPaths[${i}]`,
          p,
          'the path is listed twice',
          'list each path once',
        );
      }
    });
    this.anonymousPaths = [...paths];
  }

  protected describe(): string {
    return 'kube-apiserver authentication (--authentication-config): anonymous requests only on the listed paths';
  }

  public toObjects(): KubeObject[] {
    return [
      {
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'AuthenticationConfiguration',
        anonymous: { enabled: true, conditions: this.anonymousPaths.map((path) => ({ path })) },
      },
    ];
  }
}
