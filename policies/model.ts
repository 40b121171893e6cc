/**
 * The data model shared by the control catalogue, the engine, the reports, the constructs and
 * the stacks. policies/ depends on nothing else of ours: everything here is plain data.
 */

/** Frameworks the catalogue maps to. */
export type Framework = 'stig' | 'cis' | 'bsi' | 'ccn' | 'scs';
export const FRAMEWORKS: readonly Framework[] = ['stig', 'cis', 'bsi', 'ccn', 'scs'];

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/**
 * Result of one control on one subject. "Could not evaluate" is never "pass":
 * - not-evaluated: the input did not contain what the control needs (e.g. no audit policy);
 * - error: the check itself failed (malformed object, exception in the check);
 * - not-applicable: the control does not apply to this subject by definition;
 * - accepted: it failed, but a valid (unexpired) exception covers it.
 */
export type Status = 'pass' | 'fail' | 'accepted' | 'not-applicable' | 'not-evaluated' | 'error';

/** Where a control can be checked. */
export type CheckPoint = 'synth' | 'admission' | 'live' | 'probe';

/** Who answers for a control. */
export type Responsibility = 'cluster-admin' | 'provider' | 'organisational';

/** Framework references. STIG rule IDs are written with their prefix: `V-242390`. */
export interface FrameworkRefs {
  stig?: string[];
  cis?: string[];
  bsi?: string[];
  ccn?: string[];
  scs?: string[];
}

/** A parsed Kubernetes-style document (cluster object or component config file). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** Where a document came from: a file and line, and for our own output the construct. */
export interface SourceRef {
  file?: string;
  /** 1-based line of the document's first line in `file`. */
  line?: number;
  /** cdk8s construct path that produced the object (our own output only). */
  constructPath?: string;
}

/** One input document with its origin. */
export interface Document {
  object: KubeObject;
  source: SourceRef;
}

/**
 * A file that must exist on a control-plane or worker node, with the ownership and mode the
 * STIG and CCN-STIC tables require. Content of sensitive files never carries key material:
 * secrets are written as `{{hcb-secret:NAME}}` tokens that only the stack materializes, on
 * the node, at write time.
 */
export interface NodeFile {
  /** Absolute path on the node, e.g. /etc/kubernetes/audit/policy.yaml. */
  path: string;
  owner: string;
  group: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** What the file is, e.g. 'audit-policy', 'pki-key', 'kubeconfig', 'static-pod-manifest'. */
  role: string;
  /** Content when the blueprint renders it; absent for files other tools create (PKI, kubeconfigs). */
  content?: string;
  /** True when the file holds (or, once materialized, will hold) secret material. */
  sensitive: boolean;
  /** Which tool creates the file on the node. */
  createdBy: 'blueprint' | 'kubeadm' | 'kubelet';
}

/**
 * The node file manifest as a document, so that `hcb audit` reads it from a directory like any
 * other YAML: `apiVersion: hcb.dev/v1alpha1`, `kind: NodeFileManifest`, `files: [...]` with
 * `mode` written as an octal string ("0600").
 */
export const NODE_FILE_MANIFEST_API_VERSION = 'hcb.dev/v1alpha1';
export const NODE_FILE_MANIFEST_KIND = 'NodeFileManifest';

/** Reference to the subject of a finding. */
export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  file?: string;
  line?: number;
  /** Path on a node, for node file findings. */
  path?: string;
  constructPath?: string;
}

/** One result of one control. */
export interface Finding {
  control: string;
  status: Status;
  severity: Severity;
  frameworks: FrameworkRefs;
  object?: ObjectRef;
  message: string;
  /** Remediation text naming the construct prop to change (copied from the control). */
  remediation?: string;
  /** For status 'accepted': the exception that accepted it. */
  exception?: { justification: string; owner: string; expires: string };
}

/**
 * A typed exception: reviewed code, versioned with the blueprint. An expired exception does
 * not accept anything: the finding stays a failure and says the exception expired.
 */
export interface ControlException {
  control: string;
  /** What it covers; every given field must match. Omitted fields match anything. */
  scope: { namespace?: string; kind?: string; name?: string; path?: string };
  justification: string;
  owner: string;
  /** ISO date (YYYY-MM-DD); the exception is valid through this day (UTC). */
  expires: string;
  ticket?: string;
}
