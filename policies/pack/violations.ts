/**
 * Pure core of the Pulumi policy pack: the catalogue applied to the resources of a stack.
 * Kubernetes resources are checked as the objects they send to the API server; a resource that
 * carries node files (the local control plane) is checked as the configuration files it
 * writes, with the node file manifest built from their owner and mode.
 */
import { evaluate } from '../engine';
import { loadProblemsToFindings } from '../input/findings';
import { parseText } from '../input/parse';
import type { LoadProblem } from '../input/types';
import { CONSTRUCT_PATH_ANNOTATION } from '../input/types';
import {
  ControlException,
  Document,
  Finding,
  KubeObject,
  NodeFile,
  NODE_FILE_MANIFEST_API_VERSION,
  NODE_FILE_MANIFEST_KIND,
  Severity,
  SEVERITIES,
} from '../model';

/** What the pack needs of a stack resource (a subset of @pulumi/policy's PolicyResource). */
export interface StackResource {
  type: string;
  urn: string;
  props: Record<string, unknown>;
}

export interface PackViolation {
  message: string;
  urn?: string;
  finding: Finding;
}

export interface PackOptions {
  exceptions?: readonly ControlException[];
  /** Lowest severity that blocks a deployment. @default 'low' */
  failOn?: Severity;
  now?: Date;
}

/** Documents of the stack, each tied to the resource it came from. */
export function stackDocuments(resources: readonly StackResource[]): Array<{ doc: Document; urn: string }> {
  return stackInputs(resources).docs;
}

/**
 * Documents of the stack and the node files that could not be read (YAML that does not parse, a
 * field of the wrong type): those become error findings, so a config file the catalogue cannot
 * interpret blocks the deployment instead of being left out silently.
 */
export function stackInputs(resources: readonly StackResource[]): {
  docs: Array<{ doc: Document; urn: string }>;
  problems: Array<{ problem: LoadProblem; urn: string }>;
} {
  const out: Array<{ doc: Document; urn: string }> = [];
  const problems: Array<{ problem: LoadProblem; urn: string }> = [];
  // On a hosts stack the control-plane host, each worker and the cluster network carry the same
  // blueprint node files (each of them needs them). Identical sets are one input, read from the
  // first resource that carries them (the control-plane host, created first); otherwise every
  // node-file finding would be reported once per resource.
  const nodeFileSets = new Set<string>();
  for (const r of resources) {
    // @pulumi/policy hands props over as proxies; copy them into plain data first.
    const props = plain(r.props ?? {}) as Record<string, unknown>;
    if (r.type.startsWith('kubernetes:') && typeof props.kind === 'string' && typeof props.apiVersion === 'string') {
      const object = props as KubeObject;
      const constructPath = object.metadata?.annotations?.[CONSTRUCT_PATH_ANNOTATION];
      out.push({ urn: r.urn, doc: { object, source: { file: r.urn, ...(constructPath ? { constructPath } : {}) } } });
    }
    const nodeFiles = props.nodeFiles;
    if (Array.isArray(nodeFiles) && nodeFiles.every(isNodeFile)) {
      const key = JSON.stringify(nodeFiles);
      if (nodeFileSets.has(key)) continue;
      nodeFileSets.add(key);
      for (const f of nodeFiles) {
        if (!f.content || !/\.ya?ml$/.test(f.path)) continue;
        const parsed = parseText(f.content, f.path);
        for (const d of parsed.documents) out.push({ urn: r.urn, doc: d });
        for (const problem of parsed.errors) problems.push({ urn: r.urn, problem });
      }
      out.push({ urn: r.urn, doc: { object: manifestOf(nodeFiles), source: { file: `${r.urn}#node-files` } } });
    }
  }
  return { docs: out, problems };
}

/** Failures and errors at or above the threshold, as messages a reviewer can act on. */
export function packViolations(resources: readonly StackResource[], opts: PackOptions = {}): PackViolation[] {
  const { docs, problems } = stackInputs(resources);
  const urnOf = new Map(docs.map((d) => [d.doc.source.file, d.urn]));
  for (const p of problems) if (!urnOf.has(p.problem.file)) urnOf.set(p.problem.file, p.urn);
  const threshold = SEVERITIES.indexOf(opts.failOn ?? 'low');
  const findings = [
    ...loadProblemsToFindings(problems.map((p) => p.problem)),
    ...evaluate(
      docs.map((d) => d.doc),
      { exceptions: opts.exceptions, now: opts.now, includeManual: false },
    ),
  ];
  return findings
    .filter((f) => f.status === 'error' || (f.status === 'fail' && SEVERITIES.indexOf(f.severity) <= threshold))
    .map((f) => {
      const ids = [
        ...(f.frameworks.stig ?? []),
        ...(f.frameworks.cis ?? []).map((c) => `CIS ${c}`),
        ...(f.frameworks.bsi ?? []),
      ];
      const where =
        f.object?.constructPath ?? [f.object?.kind, f.object?.namespace, f.object?.name].filter(Boolean).join('/');
      const message = `${f.control} [${f.severity}] ${where ? `${where}: ` : ''}${f.message}${ids.length ? ` (${ids.join(', ')})` : ''}${f.remediation ? `\nFix: ${f.remediation}` : ''}`;
      const file = f.object?.file;
      const urn = file ? (urnOf.get(file) ?? urnOf.get(file.replace(/#node-files$/, ''))) : undefined;
      return {
        message,
        urn: urn ?? (file?.startsWith('urn:') ? file.replace(/#node-files$/, '') : undefined),
        finding: f,
      };
    });
}

function isNodeFile(v: unknown): v is NodeFile {
  const f = v as NodeFile;
  return !!f && typeof f.path === 'string' && typeof f.mode === 'number' && typeof f.owner === 'string';
}

function manifestOf(files: NodeFile[]): KubeObject {
  return {
    apiVersion: NODE_FILE_MANIFEST_API_VERSION,
    kind: NODE_FILE_MANIFEST_KIND,
    metadata: { name: 'control-plane' },
    files: files.map((f) => ({
      path: f.path,
      owner: f.owner,
      group: f.group,
      mode: `0${f.mode.toString(8)}`,
      role: f.role,
      sensitive: f.sensitive,
      createdBy: f.createdBy,
    })),
  };
}

/**
 * A plain deep copy (index and key access only, no Array.prototype methods on the proxy), with
 * the sentinel Pulumi uses for values a preview does not know yet dropped.
 */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) if (v[i] !== UNKNOWN) out.push(plain(v[i]));
    return out;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== UNKNOWN) out[k] = plain(x);
    }
    return out;
  }
  return v;
}
const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
