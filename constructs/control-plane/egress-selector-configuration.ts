import * as path from 'path';
import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { NodeConfigFile } from './node-config-file';
import {
  ADMISSION_CONFIG_PATH,
  AUDIT_POLICY_PATH,
  AUTHENTICATION_CONFIG_PATH,
  EGRESS_SELECTOR_CONFIG_PATH,
  ENCRYPTION_CONFIG_PATH,
  KUBERNETES_DIR,
  MANIFESTS_DIR,
  PKI_DIR,
} from './paths';
import { checkAbsolutePath } from './validation';

/** sun_path of a unix socket address holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Directories that hold other files: a socket directory mounted into the API server must be its own. */
const SHARED_DIRECTORIES = ['/', '/etc', '/run', '/tmp', '/var', '/var/lib', '/var/run', KUBERNETES_DIR];
const RESERVED_TREES = [PKI_DIR, MANIFESTS_DIR, `${KUBERNETES_DIR}/kubeadm`];
const CONFIG_FILES = [
  ADMISSION_CONFIG_PATH,
  AUDIT_POLICY_PATH,
  AUTHENTICATION_CONFIG_PATH,
  ENCRYPTION_CONFIG_PATH,
  EGRESS_SELECTOR_CONFIG_PATH,
];

export interface EgressSelectorConfigurationProps {
  /**
   * Unix socket of the HTTP CONNECT proxy that carries the API server's `cluster` traffic (kubelet
   * API, node/pod/service proxies, webhooks, aggregated APIs). It lies in a directory of its own,
   * which the API server gets mounted.
   */
  readonly clusterProxySocket: string;
}

/**
 * EgressSelectorConfiguration (apiserver.k8s.io/v1beta1) for --egress-selector-config-file: the
 * API server opens its connections to the cluster (kubelets, pods, services) through an HTTP
 * CONNECT proxy on a unix socket instead of dialling them itself; `controlplane` and `etcd`
 * traffic stays direct. The proxy only carries bytes: TLS to the kubelet runs end to end, so the
 * API server still presents --kubelet-client-certificate and checks the kubelet's serving
 * certificate against --kubelet-certificate-authority. Read by
 * k8s.io/apiserver/pkg/server/egressselector (strict decoding; `cluster` with HTTPConnect over UDS).
 */
export class EgressSelectorConfiguration extends NodeConfigFile {
  /** The proxy's socket path on the node. */
  public readonly clusterProxySocket: string;
  /** The socket's directory (mounted into the API server's pod). */
  public readonly socketDirectory: string;

  constructor(scope: Construct, id: string, props: EgressSelectorConfigurationProps) {
    super(scope, id, {
      path: EGRESS_SELECTOR_CONFIG_PATH,
      mode: 0o600,
      role: 'egress-selector-config',
      sensitive: false,
    });
    const socket = checkAbsolutePath(this, 'clusterProxySocket', props.clusterProxySocket);
    if (path.posix.normalize(socket) !== socket || socket.endsWith('/')) {
      throw new BlueprintPropError(
        this,
        'clusterProxySocket',
        socket,
        'not a normalised file path',
        "write it without '//', '.' or a trailing '/', e.g. '/etc/kubernetes/egress-proxy/cluster.sock'",
      );
    }
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
      throw new BlueprintPropError(
        this,
        'clusterProxySocket',
        socket,
        `a unix socket path has at most ${MAX_SOCKET_PATH_BYTES} bytes`,
        'use a shorter path',
      );
    }
    const dir = path.posix.dirname(socket);
    const inReserved = RESERVED_TREES.some((t) => dir === t || dir.startsWith(`${t}/`));
    const holdsConfig = CONFIG_FILES.some((f) => path.posix.dirname(f) === dir);
    if (SHARED_DIRECTORIES.includes(dir) || inReserved || holdsConfig) {
      throw new BlueprintPropError(
        this,
        'clusterProxySocket',
        socket,
        `its directory ${dir} holds other files and would be mounted writable into the API server`,
        "give the socket a directory of its own, e.g. '/etc/kubernetes/egress-proxy/cluster.sock'",
      );
    }
    this.clusterProxySocket = socket;
    this.socketDirectory = dir;
  }

  protected describe(): string {
    return 'kube-apiserver egress (--egress-selector-config-file): cluster traffic through an HTTP CONNECT proxy on a unix socket';
  }

  public toObjects(): KubeObject[] {
    return [
      {
        apiVersion: 'apiserver.k8s.io/v1beta1',
        kind: 'EgressSelectorConfiguration',
        egressSelections: [
          {
            name: 'cluster',
            connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: this.clusterProxySocket } } },
          },
        ],
      },
    ];
  }
}
