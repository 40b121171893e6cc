import { Construct } from 'constructs';
import { NODE_FILE_MANIFEST_API_VERSION, NODE_FILE_MANIFEST_KIND } from '../../policies/model';
import type { KubeObject, NodeFile } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import {
  AUDIT_LOG_DIR,
  ETCD_DATA_DIR,
  KUBELET_DROPIN_PATH,
  KUBELET_CONFIG_PATH,
  KUBELET_FLAGS_ENV_PATH,
  KUBELET_PKI_DIR,
  KUBERNETES_DIR,
  MANIFESTS_DIR,
  PKI_DIR,
} from './paths';
import { ProtectionProfile } from './profile';
import { octalMode, renderYaml } from './render';

export interface NodeFileManifestProps {
  /** @default 'standard' */
  readonly profile?: ProtectionProfile;
  /**
   * Mode of PKI certificates (*.crt, sa.pub); at most 0644 (STIG V-242466). CCN-STIC table 3
   * asks 0640 (HCB-NODEFILE-PKI-CCN-MODES fails a looser mode).
   * @default 0o640 (every profile)
   */
  readonly pkiCertMode?: number;
  /**
   * Mode of PKI private keys; at most 0600 (STIG V-242467). CCN-STIC table 3 asks 0400
   * (HCB-NODEFILE-PKI-CCN-MODES fails a looser mode).
   * @default 0o400 (every profile)
   */
  readonly pkiKeyMode?: number;
  /**
   * Mode of /var/lib/kubelet/config.yaml (and kubeadm-flags.env); at most 0644 (STIG V-242407,
   * 242456). CIS 4.1.9 asks 600 or stricter, so the default satisfies both. kubeadm creates the
   * file 0644 (`kubelet-start`; rewriting an existing file keeps its mode), so whoever runs
   * kubeadm applies this mode afterwards (the local node does on every start).
   * @default 0o600 (every profile)
   */
  readonly kubeletConfigMode?: number;
  /** Files the blueprint renders (kubeadm configuration, audit policy, …). @default - none */
  readonly blueprintFiles?: NodeFile[];
  /** Audit log directory. @default '/var/log/kubernetes/audit' */
  readonly auditLogDirectory?: string;
  /** etcd data directory. @default '/var/lib/etcd' */
  readonly etcdDataDir?: string;
}

/** PKI pairs kubeadm creates under /etc/kubernetes/pki (name without extension). */
const PKI_PAIRS = [
  'ca',
  'apiserver',
  'apiserver-kubelet-client',
  'apiserver-etcd-client',
  'front-proxy-ca',
  'front-proxy-client',
  'etcd/ca',
  'etcd/server',
  'etcd/peer',
  'etcd/healthcheck-client',
];
const KUBECONFIGS = ['admin.conf', 'super-admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf'];
const STATIC_PODS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/**
 * Every file on a control-plane node with the owner, group and mode the DISA STIG and the
 * CCN-STIC file-permission tables require (root:root except the etcd data directory, which is
 * etcd:etcd 0700 per STIG V-242445; keys 0400 and certificates 0640 (CCN-STIC table 3, stricter
 * than the STIG's 0600/0644), configuration 0644 or stricter, kubeconfigs and static pod
 * manifests 0600).
 * Files kubeadm or the kubelet create carry no content; the blueprint's own files carry theirs.
 */
export class NodeFileManifest extends Construct {
  /** All files, sorted by path. */
  public readonly files: readonly NodeFile[];

  constructor(scope: Construct, id: string, props: NodeFileManifestProps = {}) {
    super(scope, id);
    const certMode = this.mode('pkiCertMode', props.pkiCertMode ?? 0o640, 0o644);
    const keyMode = this.mode('pkiKeyMode', props.pkiKeyMode ?? 0o400, 0o600);
    const kubeletConfigMode = this.mode('kubeletConfigMode', props.kubeletConfigMode ?? 0o600, 0o644);
    const kubeadm = (path: string, mode: number, role: string, sensitive: boolean): NodeFile => ({
      path,
      owner: 'root',
      group: 'root',
      mode,
      role,
      sensitive,
      createdBy: 'kubeadm',
    });

    const files: NodeFile[] = [];
    for (const pair of PKI_PAIRS) {
      files.push(kubeadm(`${PKI_DIR}/${pair}.crt`, certMode, 'pki-cert', false));
      files.push(kubeadm(`${PKI_DIR}/${pair}.key`, keyMode, 'pki-key', true));
    }
    files.push(kubeadm(`${PKI_DIR}/sa.pub`, certMode, 'pki-public-key', false));
    files.push(kubeadm(`${PKI_DIR}/sa.key`, keyMode, 'pki-key', true));
    for (const kc of KUBECONFIGS) {
      files.push(
        kubeadm(
          `${KUBERNETES_DIR}/${kc}`,
          0o600,
          kc === 'kubelet.conf' ? 'kubelet-kubeconfig' : 'control-plane-kubeconfig',
          true,
        ),
      );
    }
    for (const pod of STATIC_PODS)
      files.push(kubeadm(`${MANIFESTS_DIR}/${pod}.yaml`, 0o600, 'static-pod-manifest', false));
    files.push(kubeadm(KUBELET_CONFIG_PATH, kubeletConfigMode, 'kubelet-config', false));
    files.push(kubeadm(KUBELET_FLAGS_ENV_PATH, kubeletConfigMode, 'kubelet-flags', false));
    // STIG V-242445: the etcd data belongs to etcd (CCN-STIC table 3 says root:root; the
    // stricter, more specific STIG rule wins). etcd running as root still reads it.
    files.push({
      path: props.etcdDataDir ?? ETCD_DATA_DIR,
      owner: 'etcd',
      group: 'etcd',
      mode: 0o700,
      role: 'etcd-data',
      sensitive: true,
      createdBy: 'kubeadm',
    });
    // Installed by the kubeadm package; gives the kubelet its kubeconfig and config flags.
    files.push(kubeadm(KUBELET_DROPIN_PATH, 0o644, 'kubelet-service-dropin', false));
    files.push({
      path: `${KUBELET_PKI_DIR}/kubelet-client-current.pem`,
      owner: 'root',
      group: 'root',
      mode: 0o600,
      role: 'pki-key',
      sensitive: true,
      createdBy: 'kubelet',
    });
    files.push({
      path: `${KUBELET_PKI_DIR}/kubelet-server-current.pem`,
      owner: 'root',
      group: 'root',
      mode: 0o600,
      role: 'pki-key',
      sensitive: true,
      createdBy: 'kubelet',
    });
    files.push({
      path: props.auditLogDirectory ?? AUDIT_LOG_DIR,
      owner: 'root',
      group: 'root',
      mode: 0o700,
      role: 'audit-log-directory',
      sensitive: false,
      createdBy: 'kubelet',
    });

    for (const f of props.blueprintFiles ?? []) {
      if (files.some((x) => x.path === f.path)) {
        throw new BlueprintPropError(
          this,
          'blueprintFiles',
          f.path,
          'two node files have the same path',
          'give each file its own path',
        );
      }
      files.push({ ...f });
    }
    this.files = files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private mode(prop: string, mode: number, max: number): number {
    if (!Number.isInteger(mode) || mode < 0 || (mode & ~max) !== 0) {
      throw new BlueprintPropError(
        this,
        prop,
        octalMode(mode),
        `grants more than ${octalMode(max)} allows`,
        `use ${octalMode(max)} or stricter`,
      );
    }
    return mode;
  }

  /**
   * The manifest as a document for `hcb audit`: modes as octal strings, no file content
   * (content lives in the node files themselves; sensitive content never appears here).
   */
  public toDocument(name = 'control-plane'): KubeObject {
    return {
      apiVersion: NODE_FILE_MANIFEST_API_VERSION,
      kind: NODE_FILE_MANIFEST_KIND,
      metadata: { name },
      files: this.files.map((f) => ({
        path: f.path,
        owner: f.owner,
        group: f.group,
        mode: octalMode(f.mode),
        role: f.role,
        sensitive: f.sensitive,
        createdBy: f.createdBy,
      })),
    };
  }

  /** The document as YAML. */
  public render(name = 'control-plane'): string {
    return renderYaml([this.toDocument(name)], 'node file manifest: owner, group and mode of every control-plane file');
  }
}
