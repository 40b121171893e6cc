/**
 * Files on the nodes (from the NodeFileManifest): owner, group and permission bits. A mode
 * complies when it sets no bit outside the allowed mask ("644 or stricter": 0600, 0640, 0444
 * comply; 0646 and 0744 do not).
 */
import { CheckContext, CheckResult, Control, NodeFileEntry } from '../control';
import { notEvaluated, result } from '../checks/helpers';
import { octal, withinMode } from '../util/values';

export interface FileClass {
  /** What the files are, for messages: "static pod manifests". */
  label: string;
  matches(e: NodeFileEntry): boolean;
}

const base = (p: string): string => p.split('/').pop() ?? p;
const CONTROL_PLANE_KUBECONFIGS = new Set(['admin.conf', 'super-admin.conf', 'scheduler.conf', 'controller-manager.conf']);

export const FILE_CLASSES = {
  staticPodManifests: {
    label: 'static pod manifests',
    matches: (e) => e.file.role === 'static-pod-manifest' || /^\/etc\/kubernetes\/manifests\/[^/]+\.(ya?ml|json)$/.test(e.file.path),
  },
  etcdData: {
    label: 'etcd data directory',
    matches: (e) => e.file.role === 'etcd-data' || e.file.path.replace(/\/+$/, '') === '/var/lib/etcd',
  },
  kubeletConfig: {
    label: 'kubelet configuration file',
    matches: (e) => e.file.role === 'kubelet-config' || e.file.path === '/var/lib/kubelet/config.yaml',
  },
  kubeletKubeconfig: {
    label: 'kubelet kubeconfig',
    matches: (e) => e.file.role === 'kubelet-kubeconfig' || e.file.path === '/etc/kubernetes/kubelet.conf' || e.file.path === '/etc/kubernetes/bootstrap-kubelet.conf',
  },
  kubeProxyKubeconfig: {
    label: 'kube-proxy kubeconfig',
    matches: (e) => e.file.role === 'kube-proxy-kubeconfig' || /kube-proxy.*\/(kubeconfig|[^/]*\.conf)$/.test(e.file.path),
  },
  kubeletClientCa: {
    label: 'kubelet client CA file',
    matches: (e) => e.file.role === 'kubelet-client-ca' || e.file.path === '/etc/kubernetes/pki/ca.crt',
  },
  kubeadmDropIn: {
    label: 'kubelet service drop-in (10-kubeadm.conf)',
    matches: (e) => e.file.role === 'kubelet-service-dropin' || base(e.file.path) === '10-kubeadm.conf',
  },
  controlPlaneKubeconfigs: {
    label: 'control-plane kubeconfigs (admin.conf, super-admin.conf, scheduler.conf, controller-manager.conf)',
    matches: (e) =>
      e.file.role === 'control-plane-kubeconfig' || (e.file.path.startsWith('/etc/kubernetes/') && CONTROL_PLANE_KUBECONFIGS.has(base(e.file.path))),
  },
  pki: {
    label: 'PKI files',
    matches: (e) => e.file.role === 'pki-key' || e.file.role === 'pki-cert' || /\/pki\//.test(e.file.path),
  },
  pkiCerts: {
    label: 'PKI certificates (*.crt)',
    matches: (e) => e.file.role === 'pki-cert' || (/\/pki\//.test(e.file.path) && /\.(crt|pem)$/.test(e.file.path) && !/key/.test(base(e.file.path))),
  },
  pkiKeys: {
    label: 'PKI private keys (*.key)',
    matches: (e) => e.file.role === 'pki-key' || (/\/pki\//.test(e.file.path) && /\.key$/.test(e.file.path)),
  },
  blueprintConfigs: {
    label: 'configuration files the blueprint writes',
    matches: (e) => e.file.createdBy === 'blueprint',
  },
} satisfies Record<string, FileClass>;

export interface FileRequirement {
  owner?: string;
  group?: string;
  /** Allowed permission bits. */
  mode?: number;
  /** Stricter mask for files flagged sensitive. */
  sensitiveMode?: number;
}

export function fileProblems(e: NodeFileEntry, req: FileRequirement): string[] {
  const problems: string[] = [];
  if (req.owner !== undefined && e.file.owner !== req.owner) problems.push(`owner is ${e.file.owner || '(not set)'}, must be ${req.owner}`);
  if (req.group !== undefined && e.file.group !== req.group) problems.push(`group is ${e.file.group || '(not set)'}, must be ${req.group}`);
  const allowed = e.file.sensitive && req.sensitiveMode !== undefined ? req.sensitiveMode : req.mode;
  if (allowed !== undefined) {
    if (e.mode === undefined) problems.push('mode is missing or unreadable');
    else if (!withinMode(e.mode, allowed)) problems.push(`mode ${octal(e.mode)} allows more than ${octal(allowed)}${e.file.sensitive && allowed === req.sensitiveMode ? ' (sensitive file)' : ''}`);
  }
  return problems;
}

export function nodeFileCheck(cls: FileClass, req: FileRequirement) {
  return (ctx: CheckContext): CheckResult[] => {
    if (!ctx.hasNodeFileManifest) return [notEvaluated(`no NodeFileManifest in the input, so the ${cls.label} cannot be checked.`)];
    const files = ctx.nodeFiles.filter((e) => cls.matches(e));
    if (files.length === 0) return [notEvaluated(`the NodeFileManifest lists no file of this kind (${cls.label}).`)];
    return files.map((e) => {
      const problems = fileProblems(e, req);
      const mode = e.mode === undefined ? '?' : octal(e.mode);
      return problems.length > 0
        ? result('fail', `${e.file.path}: ${problems.join('; ')}.`, e.ref)
        : result('pass', `${e.file.path}: ${e.file.owner}:${e.file.group} ${mode}.`, e.ref);
    });
  };
}

const ROOT = { owner: 'root', group: 'root' };
const NODE_CHECKPOINTS: Control['checkpoints'] = ['synth', 'live'];

function fileControl(
  id: string,
  title: string,
  rationale: string,
  frameworks: Control['frameworks'],
  cls: FileClass,
  req: FileRequirement,
  remediation: string,
  severity: Control['severity'] = 'medium',
  responsibility: Control['responsibility'] = 'provider',
): Control {
  return { id, title, rationale, severity, frameworks, checkpoints: NODE_CHECKPOINTS, responsibility, automation: 'automated', remediation, check: nodeFileCheck(cls, req) };
}

export const NODE_FILE_CONTROLS: readonly Control[] = [
  fileControl(
    'HCB-NODEFILE-STATIC-POD-MANIFESTS',
    'Static pod manifests are owned by root and not writable by others (644 or stricter)',
    'Whoever can edit a static pod manifest changes the flags of the API server, etcd or scheduler and runs code as root on the control plane.',
    { stig: ['V-242405', 'V-242408', 'V-242444'], cis: ['1.1.1', '1.1.2', '1.1.3', '1.1.4', '1.1.5', '1.1.6', '1.1.7', '1.1.8'], ccn: ['CCN-CL-05', 'CCN-CL-12'], bsi: ['APP.4.4.A8'] },
    FILE_CLASSES.staticPodManifests,
    { ...ROOT, mode: 0o644 },
    'Node file manifest entry for /etc/kubernetes/manifests/*.yaml: owner root, group root, mode 0600 (the blueprint default).',
    'high',
  ),
  fileControl(
    'HCB-NODEFILE-ETCD-DATA',
    'The etcd data directory belongs to etcd and is closed to others (700 or stricter)',
    'The data directory holds every object of the cluster in a form anyone who can read the files can decode.',
    { stig: ['V-242445', 'V-242459'], cis: ['1.1.11', '1.1.12'], bsi: ['APP.4.4.A20'] },
    FILE_CLASSES.etcdData,
    { owner: 'etcd', group: 'etcd', mode: 0o700 },
    'Node file manifest entry for /var/lib/etcd: owner etcd, group etcd, mode 0700 (run etcd as the etcd user).',
    'high',
  ),
  fileControl(
    'HCB-NODEFILE-KUBELET-CONFIG',
    'The kubelet configuration file is owned by root (644 or stricter)',
    'The kubelet configuration decides authentication and authorization of the kubelet API; changing it opens the node.',
    { stig: ['V-242406', 'V-242407', 'V-242456', 'V-242457'], cis: ['4.1.9', '4.1.10'], ccn: ['CCN-CL-08', 'CCN-CL-13'], bsi: ['APP.4.4.A8'] },
    FILE_CLASSES.kubeletConfig,
    { ...ROOT, mode: 0o644 },
    'KubeletConfiguration construct: node file /var/lib/kubelet/config.yaml with owner root, group root, mode 0644 or stricter.',
  ),
  fileControl(
    'HCB-NODEFILE-KUBELET-KUBECONFIG',
    'The kubelet kubeconfig is owned by root (644 or stricter)',
    'The kubelet kubeconfig carries the node’s credentials for the API server.',
    { stig: ['V-242452', 'V-242453'], cis: ['4.1.5', '4.1.6'], ccn: ['CCN-CL-08', 'CCN-CL-13'] },
    FILE_CLASSES.kubeletKubeconfig,
    { ...ROOT, mode: 0o644, sensitiveMode: 0o600 },
    'Node file manifest entry for /etc/kubernetes/kubelet.conf: owner root, group root, mode 0600.',
  ),
  fileControl(
    'HCB-NODEFILE-KUBE-PROXY-KUBECONFIG',
    'The kube-proxy kubeconfig is owned by root (644 or stricter)',
    'kube-proxy programs the node’s packet filtering; its credentials and settings must not be changeable by other users.',
    { stig: ['V-242447', 'V-242448'], cis: ['4.1.3', '4.1.4'], ccn: ['CCN-CL-08', 'CCN-CL-13'] },
    FILE_CLASSES.kubeProxyKubeconfig,
    { ...ROOT, mode: 0o644 },
    'Node file manifest entry for the kube-proxy kubeconfig: owner root, group root, mode 0644 or stricter.',
  ),
  fileControl(
    'HCB-NODEFILE-KUBELET-CLIENT-CA',
    'The CA file the kubelet trusts is owned by root (644 or stricter)',
    'Whoever can replace the client CA file decides which certificates the kubelet accepts.',
    { stig: ['V-242449', 'V-242450'], cis: ['4.1.7', '4.1.8'], ccn: ['CCN-CL-06'] },
    FILE_CLASSES.kubeletClientCa,
    { ...ROOT, mode: 0o644 },
    'Node file manifest entry for /etc/kubernetes/pki/ca.crt: owner root, group root, mode 0644 or stricter.',
  ),
  fileControl(
    'HCB-NODEFILE-KUBEADM-DROPIN',
    'The kubelet service drop-in is owned by root (644 or stricter)',
    'The systemd drop-in sets the kubelet command line; editing it can switch off any kubelet hardening.',
    { stig: ['V-242454', 'V-242455'], cis: ['4.1.1', '4.1.2'], ccn: ['CCN-CL-08', 'CCN-CL-13'] },
    FILE_CLASSES.kubeadmDropIn,
    { ...ROOT, mode: 0o644 },
    'Node file manifest entry for 10-kubeadm.conf: owner root, group root, mode 0644 or stricter.',
  ),
  fileControl(
    'HCB-NODEFILE-CONTROL-PLANE-KUBECONFIGS',
    'Control-plane kubeconfigs are owned by root (644 or stricter; 600 when they hold keys)',
    'admin.conf and the component kubeconfigs embed client keys with broad or full rights.',
    { stig: ['V-242446', 'V-242460'], cis: ['1.1.13', '1.1.14', '1.1.15', '1.1.16', '1.1.17', '1.1.18'], ccn: ['CCN-CL-05', 'CCN-CL-07', 'CCN-CL-12'] },
    FILE_CLASSES.controlPlaneKubeconfigs,
    { ...ROOT, mode: 0o644, sensitiveMode: 0o600 },
    'Node file manifest entries for /etc/kubernetes/{admin,super-admin,scheduler,controller-manager}.conf: owner root, group root, mode 0600.',
    'high',
  ),
  fileControl(
    'HCB-NODEFILE-PKI-OWNER',
    'PKI files are owned by root',
    'Certificates and keys owned by another user can be replaced or read by that user.',
    { stig: ['V-242451'], cis: ['1.1.19'], ccn: ['CCN-CL-06'], scs: ['SCS-BASE-CA'] },
    FILE_CLASSES.pki,
    ROOT,
    'Node file manifest entries under /etc/kubernetes/pki: owner root, group root.',
    'high',
  ),
  fileControl(
    'HCB-NODEFILE-PKI-CERT-MODE',
    'PKI certificates are 644 or stricter',
    'Certificates are public, but a writable certificate can be swapped for one the attacker controls.',
    { stig: ['V-242466'], cis: ['1.1.20'], ccn: ['CCN-CL-07'] },
    FILE_CLASSES.pkiCerts,
    { mode: 0o644 },
    'Node file manifest entries for /etc/kubernetes/pki/*.crt: mode 0644 or stricter.',
  ),
  fileControl(
    'HCB-NODEFILE-PKI-KEY-MODE',
    'PKI private keys are 600 or stricter',
    'A readable private key lets anyone on the host impersonate the component or sign certificates.',
    { stig: ['V-242467'], cis: ['1.1.21'], ccn: ['CCN-CL-07'], scs: ['SCS-BASE-CA'] },
    FILE_CLASSES.pkiKeys,
    { mode: 0o600 },
    'Node file manifest entries for /etc/kubernetes/pki/*.key: mode 0600 or stricter.',
    'high',
  ),
  fileControl(
    'HCB-NODEFILE-BLUEPRINT-CONFIGS',
    'Configuration files the blueprint writes are owned by root (644 or stricter, 600 when sensitive)',
    'Audit policy, encryption, admission and authentication configuration decide how the control plane behaves; the encryption configuration holds keys.',
    { ccn: ['CCN-CL-05', 'CCN-CL-12'], bsi: ['APP.4.4.A8'] },
    FILE_CLASSES.blueprintConfigs,
    { ...ROOT, mode: 0o644, sensitiveMode: 0o600 },
    'NodeConfigFile constructs set owner root, group root and mode 0644 (0600 for sensitive files); do not override them.',
  ),
];
