/**
 * Where the blueprint's and kubeadm's files live on a control-plane node. These are kubeadm's
 * defaults (certificatesDir /etc/kubernetes/pki, manifests in /etc/kubernetes/manifests) plus
 * one directory per blueprint-rendered configuration file.
 */
export const KUBERNETES_DIR = '/etc/kubernetes';
export const PKI_DIR = '/etc/kubernetes/pki';
export const MANIFESTS_DIR = '/etc/kubernetes/manifests';
export const KUBEADM_CONFIG_PATH = '/etc/kubernetes/kubeadm/kubeadm-config.yaml';
export const KUBEADM_JOIN_CONFIG_PATH = '/etc/kubernetes/kubeadm/join-config.yaml';
export const KUBEADM_PATCHES_DIR = '/etc/kubernetes/kubeadm/patches';
export const AUDIT_POLICY_PATH = '/etc/kubernetes/audit/policy.yaml';
export const AUDIT_LOG_DIR = '/var/log/kubernetes/audit';
export const AUDIT_LOG_PATH = '/var/log/kubernetes/audit/audit.log';
export const ENCRYPTION_CONFIG_PATH = '/etc/kubernetes/encryption/encryption-config.yaml';
export const ADMISSION_CONFIG_PATH = '/etc/kubernetes/admission/admission-config.yaml';
export const AUTHENTICATION_CONFIG_PATH = '/etc/kubernetes/authentication/authentication-config.yaml';
export const EGRESS_SELECTOR_CONFIG_PATH = '/etc/kubernetes/egress-selector/egress-selector-config.yaml';
export const BACKUP_CONFIG_PATH = '/etc/kubernetes/backup/backup-config.yaml';
export const ETCD_DATA_DIR = '/var/lib/etcd';
export const KUBELET_CONFIG_PATH = '/var/lib/kubelet/config.yaml';
export const KUBELET_FLAGS_ENV_PATH = '/var/lib/kubelet/kubeadm-flags.env';
export const KUBELET_PKI_DIR = '/var/lib/kubelet/pki';
export const DISCOVERY_KUBECONFIG_PATH = '/etc/kubernetes/discovery/cluster-info.conf';
/** kubeadm package's kubelet drop-in (pkgs.k8s.io packages install it under /usr/lib). */
export const KUBELET_DROPIN_PATH = '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf';
