/**
 * Files on the nodes (from the NodeFileManifest): owner, group and permission bits. A mode
 * complies when it sets no bit outside the allowed mask ("644 or stricter": 0600, 0640, 0444
 * comply; 0646 and 0744 do not).
 */
import { AutomatedControlRecord, CheckContext, CheckResult, ControlRecord, NodeFileEntry } from '../control';
import { notEvaluated, result } from '../checks/helpers';
import { octal, withinMode } from '../util/values';

export interface FileClass {
  /** What the files are, for messages: "static pod manifests". */
  label: string;
  matches(e: NodeFileEntry): boolean;
}

const base = (p: string): string => p.split('/').pop() ?? p;
const ETCD_DATA_DIR = '/var/lib/etcd';
/**
 * Roles of etcd data entries: 'etcd-data' the data directory (node file manifest),
 * 'etcd-data-dir' a directory and 'etcd-data-file' a file under it (as `hcb verify` lists them
 * from disk).
 */
export const ETCD_DATA_ROLES: ReadonlySet<string> = new Set(['etcd-data', 'etcd-data-dir', 'etcd-data-file']);
const CONTROL_PLANE_KUBECONFIGS = new Set([
  'admin.conf',
  'super-admin.conf',
  'scheduler.conf',
  'controller-manager.conf',
]);

export const FILE_CLASSES = {
  staticPodManifests: {
    label: 'static pod manifests',
    matches: (e) =>
      e.file.role === 'static-pod-manifest' || /^\/etc\/kubernetes\/manifests\/[^/]+\.(ya?ml|json)$/.test(e.file.path),
  },
  etcdData: {
    label: 'etcd data directory and the files in it',
    matches: (e) =>
      ETCD_DATA_ROLES.has(e.file.role) ||
      e.file.path.replace(/\/+$/, '') === ETCD_DATA_DIR ||
      e.file.path.startsWith(`${ETCD_DATA_DIR}/`),
  },
  kubeletConfig: {
    label: 'kubelet configuration file',
    matches: (e) => e.file.role === 'kubelet-config' || e.file.path === '/var/lib/kubelet/config.yaml',
  },
  kubeletKubeconfig: {
    label: 'kubelet kubeconfig',
    matches: (e) =>
      e.file.role === 'kubelet-kubeconfig' ||
      e.file.path === '/etc/kubernetes/kubelet.conf' ||
      e.file.path === '/etc/kubernetes/bootstrap-kubelet.conf',
  },
  kubeProxyKubeconfig: {
    label: 'kube-proxy kubeconfig',
    matches: (e) =>
      e.file.role === 'kube-proxy-kubeconfig' || /kube-proxy.*\/(kubeconfig|[^/]*\.conf)$/.test(e.file.path),
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
      e.file.role === 'control-plane-kubeconfig' ||
      (e.file.path.startsWith('/etc/kubernetes/') && CONTROL_PLANE_KUBECONFIGS.has(base(e.file.path))),
  },
  pki: {
    label: 'PKI files',
    matches: (e) => e.file.role === 'pki-key' || e.file.role === 'pki-cert' || /\/pki\//.test(e.file.path),
  },
  pkiCerts: {
    label: 'PKI certificates (*.crt)',
    matches: (e) =>
      e.file.role === 'pki-cert' ||
      (/\/pki\//.test(e.file.path) && /\.(crt|pem)$/.test(e.file.path) && !/key/.test(base(e.file.path))),
  },
  pkiKeys: {
    label: 'PKI private keys (*.key)',
    matches: (e) => e.file.role === 'pki-key' || (/\/pki\//.test(e.file.path) && /\.key$/.test(e.file.path)),
  },
  /** CCN-STIC table 3 names files by extension: "pki certificates (crt extension)", "pki certified keys (extension key)". */
  ccnPkiFiles: {
    label: 'PKI certificates (*.crt) and keys (*.key) of CCN-STIC table 3',
    matches: (e) =>
      (e.file.role === 'pki-cert' || e.file.role === 'pki-key' || /\/pki\//.test(e.file.path)) &&
      /\.(crt|key)$/.test(e.file.path),
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
  if (req.owner !== undefined && e.file.owner !== req.owner)
    problems.push(`owner is ${e.file.owner || '(not set)'}, must be ${req.owner}`);
  if (req.group !== undefined && e.file.group !== req.group)
    problems.push(`group is ${e.file.group || '(not set)'}, must be ${req.group}`);
  const allowed = e.file.sensitive && req.sensitiveMode !== undefined ? req.sensitiveMode : req.mode;
  if (allowed !== undefined) {
    if (e.mode === undefined) problems.push('mode is missing or unreadable');
    else if (!withinMode(e.mode, allowed))
      problems.push(
        `mode ${octal(e.mode)} allows more than ${octal(allowed)}${e.file.sensitive && allowed === req.sensitiveMode ? ' (sensitive file)' : ''}`,
      );
  }
  return problems;
}

export function nodeFileCheck(cls: FileClass, req: FileRequirement) {
  return (ctx: CheckContext): CheckResult[] => {
    if (!ctx.hasNodeFileManifest)
      return [notEvaluated(`no NodeFileManifest in the input, so the ${cls.label} cannot be checked.`)];
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

/**
 * The etcd data directory and what is in it (STIG V-242445 owner etcd, V-242459 "644 or more
 * restrictive" for the files `ls -AR /var/lib/etcd/*` shows; CIS 1.1.11 the directory 700):
 * the directory and its subdirectories etcd:etcd 0700 or stricter, files etcd:etcd 0644 or
 * stricter. One result per data directory, naming every offending entry under it; files are
 * only checked where the input lists them (`hcb verify` lists them from disk; the rendered
 * manifest knows the directory only, which the pass message says).
 */
function etcdDataCheck(ctx: CheckContext): CheckResult[] {
  if (!ctx.hasNodeFileManifest)
    return [notEvaluated(`no NodeFileManifest in the input, so the ${FILE_CLASSES.etcdData.label} cannot be checked.`)];
  const entries = ctx.nodeFiles.filter((e) => FILE_CLASSES.etcdData.matches(e));
  if (entries.length === 0)
    return [notEvaluated(`the NodeFileManifest lists no file of this kind (${FILE_CLASSES.etcdData.label}).`)];
  const norm = (p: string) => p.replace(/\/+$/, '') || '/';
  const isDir = (e: NodeFileEntry) => e.file.role !== 'etcd-data-file';
  // Roots: entries no other listed directory contains.
  const dirs = entries.filter(isDir);
  const roots = dirs.filter((d) => !dirs.some((o) => o !== d && norm(d.file.path).startsWith(`${norm(o.file.path)}/`)));
  const orphans = entries.filter(
    (e) => !roots.some((r) => r === e || norm(e.file.path).startsWith(`${norm(r.file.path)}/`)),
  );
  const out: CheckResult[] = [];
  const dirReq: FileRequirement = { owner: 'etcd', group: 'etcd', mode: 0o700 };
  const fileReq: FileRequirement = { owner: 'etcd', group: 'etcd', mode: 0o644 };
  for (const root of [...roots, ...orphans]) {
    const inside =
      root.file.role === 'etcd-data-file'
        ? []
        : entries.filter((e) => e !== root && norm(e.file.path).startsWith(`${norm(root.file.path)}/`));
    const problems: string[] = [];
    const own = fileProblems(root, isDir(root) ? dirReq : fileReq);
    if (own.length > 0) problems.push(`${root.file.path}: ${own.join('; ')}`);
    const bad = inside
      .map((e) => ({ e, p: fileProblems(e, isDir(e) ? dirReq : fileReq) }))
      .filter((x) => x.p.length > 0);
    for (const { e, p } of bad.slice(0, 5)) problems.push(`${e.file.path}: ${p.join('; ')}`);
    if (bad.length > 5) problems.push(`and ${bad.length - 5} more entries under ${root.file.path}`);
    const mode = root.mode === undefined ? '?' : octal(root.mode);
    const what =
      inside.length > 0
        ? `; ${inside.length} entries under it checked (directories etcd:etcd 0700, files etcd:etcd 0644 or stricter)`
        : '; no entries under it are listed in the input (hcb verify lists them from disk)';
    out.push(
      problems.length > 0
        ? result('fail', `${problems.join('. ')}.`, root.ref)
        : result('pass', `${root.file.path}: ${root.file.owner}:${root.file.group} ${mode}${what}.`, root.ref),
    );
  }
  return out;
}

/** CCN-STIC table 3: .crt 640, .key 400 (each "or stricter"), root:root. */
function ccnPkiCheck(ctx: CheckContext): CheckResult[] {
  const cls = FILE_CLASSES.ccnPkiFiles;
  if (!ctx.hasNodeFileManifest)
    return [notEvaluated(`no NodeFileManifest in the input, so the ${cls.label} cannot be checked.`)];
  const files = ctx.nodeFiles.filter((e) => cls.matches(e));
  if (files.length === 0) return [notEvaluated(`the NodeFileManifest lists no file of this kind (${cls.label}).`)];
  return files.map((e) => {
    const key = e.file.path.endsWith('.key');
    const problems = fileProblems(e, { ...ROOT, mode: key ? 0o400 : 0o640 });
    const mode = e.mode === undefined ? '?' : octal(e.mode);
    return problems.length > 0
      ? result(
          'fail',
          `${e.file.path}: ${problems.join('; ')} (CCN-STIC table 3: ${key ? '.key 400' : '.crt 640'}, root:root).`,
          e.ref,
        )
      : result(
          'pass',
          `${e.file.path}: ${e.file.owner}:${e.file.group} ${mode} (table 3: ${key ? '400' : '640'} or stricter).`,
          e.ref,
        );
  });
}

function fileControl(
  id: string,
  title: string,
  rationale: string,
  frameworks: ControlRecord['frameworks'],
  cls: FileClass,
  req: FileRequirement,
  remediation: string,
  severity: ControlRecord['severity'] = 'medium',
  responsibility: ControlRecord['responsibility'] = 'provider',
): AutomatedControlRecord {
  return {
    id,
    title,
    rationale,
    severity,
    frameworks,
    responsibility,
    automation: 'automated',
    remediation: { text: remediation },
    check: nodeFileCheck(cls, req),
  };
}

export const NODE_FILE_CONTROLS: readonly ControlRecord[] = [
  fileControl(
    'HCB-NODEFILE-STATIC-POD-MANIFESTS',
    'Static pod manifests are owned by root and not writable by others (644 or stricter)',
    'Whoever can edit a static pod manifest changes the flags of the API server, etcd or scheduler and runs code as root on the control plane.',
    {
      stig: ['V-242405', 'V-242408', 'V-242444'],
      cis: ['1.1.1', '1.1.2', '1.1.3', '1.1.4', '1.1.5', '1.1.6', '1.1.7', '1.1.8'],
      ccn: ['CCN-CL-05', 'CCN-CL-12'],
      bsi: ['APP.4.4.A8'],
    },
    FILE_CLASSES.staticPodManifests,
    { ...ROOT, mode: 0o644 },
    'Node file manifest entry for /etc/kubernetes/manifests/*.yaml: owner root, group root, mode 0600 (the blueprint default).',
    'high',
  ),
  {
    ...fileControl(
      'HCB-NODEFILE-ETCD-DATA',
      'The etcd data directory and the files in it belong to etcd (directories 700, files 644 or stricter)',
      'The data directory holds every object of the cluster in a form anyone who can read the files can decode; the STIG checks the files in it (ls -AR), not only the directory.',
      { stig: ['V-242445', 'V-242459'], cis: ['1.1.11', '1.1.12'], bsi: ['APP.4.4.A20'] },
      FILE_CLASSES.etcdData,
      { owner: 'etcd', group: 'etcd', mode: 0o700 },
      'Node file manifest entry for /var/lib/etcd: owner etcd, group etcd, mode 0700 (run etcd as the etcd user, which creates its files 0600 and directories 0700).',
      'high',
    ),
    check: etcdDataCheck,
  },
  fileControl(
    'HCB-NODEFILE-KUBELET-CONFIG',
    'The kubelet configuration file is owned by root (644 or stricter)',
    'The kubelet configuration decides authentication and authorization of the kubelet API; changing it opens the node.',
    {
      stig: ['V-242406', 'V-242407', 'V-242456', 'V-242457'],
      cis: ['4.1.9', '4.1.10'],
      ccn: ['CCN-CL-08', 'CCN-CL-13'],
      bsi: ['APP.4.4.A8'],
    },
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
    {
      stig: ['V-242446', 'V-242460'],
      cis: ['1.1.13', '1.1.14', '1.1.15', '1.1.16', '1.1.17', '1.1.18'],
      ccn: ['CCN-CL-05', 'CCN-CL-07', 'CCN-CL-12'],
    },
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
    { stig: ['V-242466'], cis: ['1.1.20'] },
    FILE_CLASSES.pkiCerts,
    { mode: 0o644 },
    'Node file manifest entries for /etc/kubernetes/pki/*.crt: mode 0644 or stricter.',
  ),
  fileControl(
    'HCB-NODEFILE-PKI-KEY-MODE',
    'PKI private keys are 600 or stricter',
    'A readable private key lets anyone on the host impersonate the component or sign certificates.',
    { stig: ['V-242467'], cis: ['1.1.21'], scs: ['SCS-BASE-CA'] },
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
  {
    id: 'HCB-NODEFILE-PKI-CCN-MODES',
    title: 'PKI certificates are 640 and keys 400 or stricter, owned by root (CCN-STIC table 3)',
    rationale:
      "CCN-STIC's table of control-node files asks for stricter modes than the STIG: certificates not readable by others (640) and keys readable by their owner only (400). A file that meets the STIG's 644/600 can still miss this table, so it has its own control.",
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-07'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'NodeFileManifest',
      prop: ['pkiCertMode', 'pkiKeyMode'],
      text: 'defaults 0640 and 0400; owner and group root.',
    },
    check: ccnPkiCheck,
  },
];
