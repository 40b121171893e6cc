/**
 * Typed validation of the fields the catalogue reads, per kind, before any check runs (issue 15:
 * "a map where a bool belongs").
 *
 * The API server decodes a request body into the Go types of k8s.io/api with sigs.k8s.io/json
 * (runtime/serializer/json: UnmarshalCaseSensitivePreserveInts, or UnmarshalStrict; a type error
 * is fatal in both, strictness only adds unknown and duplicate fields). That decoder
 * (decode.go literalStore, array, object) refuses a JSON string, number, list or object where a
 * bool belongs, anything but a list where a slice belongs, anything but an object where a struct
 * or map belongs, and anything but an integer in range where an int32/int64 belongs; `null` is
 * "absent" everywhere. kubectl turns YAML into that JSON with sigs.k8s.io/yaml.YAMLToJSON (no
 * target type, so nothing is coerced): go-yaml v2 resolves `yes`/`on` to booleans (YAML 1.1,
 * as our parser does), and `"true"` stays a string, which the API server refuses for a bool.
 *
 * So a document that is wrongly typed in a field a check reads is never applied as written; a
 * check would otherwise read the field as absent (or guess) and could pass. Such a document is
 * an `error`, named with its field path, and no check sees it.
 *
 * Only the built-in kinds are validated (their group, or no apiVersion, which the checks read
 * too); only fields the catalogue reads, and the structure leading to them.
 */
import { KubeObject } from '../model';

/** The shape of a field as the Go type that decodes it. `null` is accepted everywhere (absent). */
export type Shape =
  | 'bool'
  | 'string'
  | 'int32'
  | 'int64'
  /** resource.Quantity: a string or a number (UnmarshalJSON parses either). */
  | 'quantity'
  /** intstr.IntOrString: a string or an int32. */
  | 'int-or-string'
  | { object: Record<string, Shape> }
  | { list: Shape }
  | { map: Shape };

/** One field whose value the API server would refuse to decode. */
export interface TypeProblem {
  /** Path segments from the document root: keys and list indices. */
  path: (string | number)[];
  /** The field path as written in messages, e.g. `spec.containers[0].securityContext.privileged`. */
  field: string;
  /** What the Go type needs, e.g. "a boolean (true or false)". */
  expected: string;
  /** What the value is: its type only, never its content (it may be a secret). */
  found: string;
}

const obj = (fields: Record<string, Shape>): Shape => ({ object: fields });
const list = (of: Shape): Shape => ({ list: of });
const map = (of: Shape): Shape => ({ map: of });

const STRINGS = list('string');

const LABEL_SELECTOR = obj({
  matchLabels: map('string'),
  matchExpressions: list(obj({ key: 'string', operator: 'string', values: STRINGS })),
});

const OBJECT_META = obj({ name: 'string', namespace: 'string', labels: map('string'), annotations: map('string') });

const SECCOMP = obj({ type: 'string', localhostProfile: 'string' });

const CONTAINER = obj({
  name: 'string',
  image: 'string',
  command: STRINGS,
  args: STRINGS,
  ports: list(obj({ name: 'string', containerPort: 'int32', hostPort: 'int32', hostIP: 'string', protocol: 'string' })),
  env: list(
    obj({ name: 'string', value: 'string', valueFrom: obj({ secretKeyRef: obj({ name: 'string', key: 'string' }) }) }),
  ),
  envFrom: list(obj({ secretRef: obj({ name: 'string' }), configMapRef: obj({ name: 'string' }) })),
  resources: obj({ limits: map('quantity'), requests: map('quantity') }),
  livenessProbe: obj({}),
  readinessProbe: obj({}),
  startupProbe: obj({}),
  securityContext: obj({
    privileged: 'bool',
    allowPrivilegeEscalation: 'bool',
    runAsNonRoot: 'bool',
    readOnlyRootFilesystem: 'bool',
    runAsUser: 'int64',
    runAsGroup: 'int64',
    procMount: 'string',
    capabilities: obj({ add: STRINGS, drop: STRINGS }),
    seccompProfile: SECCOMP,
  }),
});

const POD_SPEC = obj({
  containers: list(CONTAINER),
  initContainers: list(CONTAINER),
  ephemeralContainers: list(CONTAINER),
  hostNetwork: 'bool',
  hostPID: 'bool',
  hostIPC: 'bool',
  hostUsers: 'bool',
  automountServiceAccountToken: 'bool',
  serviceAccountName: 'string',
  serviceAccount: 'string',
  securityContext: obj({ runAsNonRoot: 'bool', runAsUser: 'int64', runAsGroup: 'int64', seccompProfile: SECCOMP }),
  volumes: list(obj({ name: 'string', hostPath: obj({ path: 'string', type: 'string' }) })),
});

const POD_TEMPLATE = obj({ metadata: OBJECT_META, spec: POD_SPEC });

const POLICY_RULE = obj({
  verbs: STRINGS,
  apiGroups: STRINGS,
  resources: STRINGS,
  resourceNames: STRINGS,
  nonResourceURLs: STRINGS,
});
const SUBJECT = obj({ kind: 'string', apiGroup: 'string', name: 'string', namespace: 'string' });
const ROLE_REF = obj({ kind: 'string', apiGroup: 'string', name: 'string' });

const NETWORK_POLICY_PEER = obj({
  podSelector: LABEL_SELECTOR,
  namespaceSelector: LABEL_SELECTOR,
  ipBlock: obj({ cidr: 'string', except: STRINGS }),
});
const NETWORK_POLICY_PORT = obj({ protocol: 'string', port: 'int-or-string', endPort: 'int32' });

// Configuration files the API server reads (--audit-policy-file, --encryption-provider-config,
// --admission-control-config-file): decoded the same way (YAMLToJSON, then the Go types), and a
// type error stops the API server. The checks read them as documents like any other.
const AUDIT_RULE = obj({
  level: 'string',
  users: STRINGS,
  userGroups: STRINGS,
  verbs: STRINGS,
  resources: list(obj({ group: 'string', resources: STRINGS, resourceNames: STRINGS })),
  namespaces: STRINGS,
  nonResourceURLs: STRINGS,
  omitStages: STRINGS,
  omitManagedFields: 'bool',
});
const ENCRYPTION_KEYS = obj({ keys: list(obj({ name: 'string', secret: 'string' })) });
const ENCRYPTION_PROVIDER = obj({
  identity: obj({}),
  aescbc: ENCRYPTION_KEYS,
  aesgcm: ENCRYPTION_KEYS,
  secretbox: ENCRYPTION_KEYS,
  kms: obj({ apiVersion: 'string', name: 'string', endpoint: 'string', cachesize: 'int32', timeout: 'string' }),
});

/** Top-level fields of each kind (metadata is added to all). */
const KIND_FIELDS: Record<string, Record<string, Shape>> = {
  Pod: { spec: POD_SPEC },
  PodTemplate: { template: POD_TEMPLATE },
  ReplicationController: { spec: obj({ template: POD_TEMPLATE }) },
  Deployment: { spec: obj({ template: POD_TEMPLATE }) },
  StatefulSet: { spec: obj({ template: POD_TEMPLATE }) },
  DaemonSet: { spec: obj({ template: POD_TEMPLATE }) },
  ReplicaSet: { spec: obj({ template: POD_TEMPLATE }) },
  Job: { spec: obj({ template: POD_TEMPLATE }) },
  CronJob: { spec: obj({ jobTemplate: obj({ metadata: OBJECT_META, spec: obj({ template: POD_TEMPLATE }) }) }) },
  ServiceAccount: { automountServiceAccountToken: 'bool' },
  Namespace: {},
  LimitRange: {
    spec: obj({
      limits: list(
        obj({
          type: 'string',
          default: map('quantity'),
          defaultRequest: map('quantity'),
          max: map('quantity'),
          min: map('quantity'),
        }),
      ),
    }),
  },
  ResourceQuota: { spec: obj({ hard: map('quantity') }) },
  Role: { rules: list(POLICY_RULE) },
  ClusterRole: { rules: list(POLICY_RULE), aggregationRule: obj({ clusterRoleSelectors: list(LABEL_SELECTOR) }) },
  RoleBinding: { subjects: list(SUBJECT), roleRef: ROLE_REF },
  ClusterRoleBinding: { subjects: list(SUBJECT), roleRef: ROLE_REF },
  Policy: { rules: list(AUDIT_RULE), omitStages: STRINGS, omitManagedFields: 'bool' },
  EncryptionConfiguration: { resources: list(obj({ resources: STRINGS, providers: list(ENCRYPTION_PROVIDER) })) },
  AdmissionConfiguration: { plugins: list(obj({ name: 'string', path: 'string', configuration: obj({}) })) },
  NetworkPolicy: {
    spec: obj({
      podSelector: LABEL_SELECTOR,
      policyTypes: STRINGS,
      ingress: list(obj({ from: list(NETWORK_POLICY_PEER), ports: list(NETWORK_POLICY_PORT) })),
      egress: list(obj({ to: list(NETWORK_POLICY_PEER), ports: list(NETWORK_POLICY_PORT) })),
    }),
  },
};

/** API groups each kind is built into ('' is the core group, apiVersion `v1`). */
const KIND_GROUPS: Record<string, readonly string[]> = {
  Pod: [''],
  PodTemplate: [''],
  ReplicationController: [''],
  ServiceAccount: [''],
  Namespace: [''],
  LimitRange: [''],
  ResourceQuota: [''],
  // The groups policies/context.ts reads workloads from.
  Deployment: ['apps', 'extensions', ''],
  StatefulSet: ['apps', ''],
  DaemonSet: ['apps', 'extensions', ''],
  ReplicaSet: ['apps', 'extensions', ''],
  Job: ['batch', ''],
  CronJob: ['batch', ''],
  Role: ['rbac.authorization.k8s.io'],
  ClusterRole: ['rbac.authorization.k8s.io'],
  RoleBinding: ['rbac.authorization.k8s.io'],
  ClusterRoleBinding: ['rbac.authorization.k8s.io'],
  NetworkPolicy: ['networking.k8s.io', 'extensions'],
  Policy: ['audit.k8s.io'],
  EncryptionConfiguration: ['apiserver.config.k8s.io'],
  AdmissionConfiguration: ['apiserver.config.k8s.io', 'apiserver.k8s.io'],
};

const SCHEMAS: Record<string, Shape> = Object.fromEntries(
  Object.entries(KIND_FIELDS).map(([kind, fields]) => [kind, obj({ metadata: OBJECT_META, ...fields })]),
);

/** Enough to name the problem and a few more; a document with hundreds is reported by count. */
export const MAX_TYPE_PROBLEMS = 10;

/** The schema that applies to an object: a built-in kind of its built-in group (or with no apiVersion). */
function schemaFor(o: KubeObject): Shape | undefined {
  const kind = o.kind;
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(SCHEMAS, kind)) return undefined;
  const api = o.apiVersion;
  if (api !== undefined && api !== null) {
    if (typeof api !== 'string') return SCHEMAS[kind];
    const group = api.includes('/') ? api.slice(0, api.indexOf('/')) : '';
    if (!KIND_GROUPS[kind].includes(group)) return undefined;
  }
  return SCHEMAS[kind];
}

/**
 * The fields of a document the API server would refuse to decode, among those the catalogue
 * reads (at most MAX_TYPE_PROBLEMS + 1, so callers can say "and more"). Empty when it decodes.
 */
export function typeProblems(o: KubeObject): TypeProblem[] {
  const schema = schemaFor(o);
  if (!schema) return [];
  const out: TypeProblem[] = [];
  walk(o, schema, [], out);
  return out;
}

function walk(value: unknown, shape: Shape, path: (string | number)[], out: TypeProblem[]): void {
  if (out.length > MAX_TYPE_PROBLEMS) return;
  if (value === null || value === undefined) return;
  const bad = (expected: string): void =>
    void out.push({ path: [...path], field: fieldPath(path), expected, found: describe(value) });
  if (typeof shape === 'string') {
    switch (shape) {
      case 'bool':
        if (typeof value !== 'boolean') bad('a boolean (true or false)');
        return;
      case 'string':
        if (typeof value !== 'string') bad('a string');
        return;
      case 'int32':
        if (!isInt(value, 2 ** 31)) bad('an integer (int32)');
        return;
      case 'int64':
        if (!isInt(value, 2 ** 63)) bad('an integer (int64)');
        return;
      case 'quantity':
        if (typeof value !== 'string' && typeof value !== 'number')
          bad('a quantity (a string such as "500m" or a number)');
        return;
      case 'int-or-string':
        if (typeof value !== 'string' && !isInt(value, 2 ** 31)) bad('a port number (int32) or a port name (a string)');
        return;
    }
  }
  if ('object' in shape) {
    if (!isPlainObject(value)) return bad('a mapping');
    // In the document's order, so the first problem named is the first in the text.
    const fields = shape.object;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (out.length > MAX_TYPE_PROBLEMS) return;
      if (!Object.prototype.hasOwnProperty.call(fields, key)) continue;
      path.push(key);
      walk(v, fields[key], path, out);
      path.pop();
    }
    return;
  }
  if ('list' in shape) {
    if (!Array.isArray(value)) return bad('a list');
    for (let i = 0; i < value.length && out.length <= MAX_TYPE_PROBLEMS; i++) {
      path.push(i);
      walk(value[i], shape.list, path, out);
      path.pop();
    }
    return;
  }
  if (!isPlainObject(value)) return bad('a mapping');
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (out.length > MAX_TYPE_PROBLEMS) return;
    path.push(key);
    walk(v, shape.map, path, out);
    path.pop();
  }
}

/** A JSON number Go's ParseInt accepts for the type: an integer within ±bound. */
function isInt(v: unknown, bound: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= -bound && v < bound;
}

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** What a value is, never what it says. */
function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number')
    return Number.isInteger(v)
      ? 'an integer out of range'
      : Number.isFinite(v)
        ? 'a number with a fraction'
        : 'a number that is not finite';
  if (typeof v === 'bigint') return 'an integer out of range';
  return `a ${typeof v}`;
}

/** `spec.containers[0].securityContext.privileged`; keys that are not plain words are quoted. */
export function fieldPath(path: readonly (string | number)[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) s += s === '' ? p : `.${p}`;
    else s += `[${JSON.stringify(p.length > 60 ? `${p.slice(0, 60)}…` : p)}]`;
  }
  return s;
}

/** One sentence for a document's problems (the first few named), for a finding's message. */
export function typeProblemsText(problems: readonly TypeProblem[]): string {
  const shown = problems.slice(0, 3).map((p) => `${p.field} is ${p.found} where Kubernetes expects ${p.expected}`);
  const more =
    problems.length > 3 ? `; and ${problems.length > MAX_TYPE_PROBLEMS ? 'more' : problems.length - 3} more` : '';
  return (
    `${shown.join('; ')}${more}: the API server refuses to decode the object (kubectl apply fails), ` +
    'so no control can check it as written; write each field with its Kubernetes type'
  );
}
