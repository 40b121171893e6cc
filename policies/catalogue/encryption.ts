/** Encryption of Secrets at rest: the API server flag and what the EncryptionConfiguration does. */
import { ControlRecord } from '../control';
import { componentCheck, documentCheck, fail, pass, Verdict } from '../checks/helpers';
import { asDict, asDicts, asString, asStrings, Dict, isDict } from '../util/values';

const STRONG = new Set(['aescbc', 'aesgcm', 'secretbox', 'kms']);
const KEY_SIZES: Record<string, number[]> = { aescbc: [16, 24, 32], aesgcm: [16, 24, 32], secretbox: [32] };
/** Placeholder our constructs write for key material that only the stack materializes on the node. */
const SECRET_TOKEN = /^\{\{hcb-secret:[A-Za-z0-9._-]+\}\}$/;

/** True when a resources entry covers core/v1 Secrets. */
export function coversSecrets(resources: readonly string[]): boolean {
  return resources.some((r) => r === 'secrets' || r === '*.' || r === '*.*');
}

function providerName(p: Dict): string {
  const keys = Object.keys(p);
  return keys.length === 1 ? keys[0] : keys.length === 0 ? '(empty)' : `(several: ${keys.join(', ')})`;
}

function keyProblems(name: string, cfg: Dict): string[] {
  const keys = asDicts(cfg.keys);
  if (keys.length === 0) return [`${name} has no keys`];
  const problems: string[] = [];
  keys.forEach((k, i) => {
    const label = `${name} key ${asString(k.name) ?? `#${i + 1}`}`;
    if ((asString(k.name) ?? '') === '') problems.push(`${label} has no name`);
    const secret = asString(k.secret) ?? '';
    if (secret.trim() === '') {
      problems.push(`${label} has an empty secret`);
      return;
    }
    if (SECRET_TOKEN.test(secret)) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || secret.length % 4 !== 0) {
      problems.push(`${label} is not base64`);
      return;
    }
    const bytes = Buffer.from(secret, 'base64').length;
    if (!KEY_SIZES[name].includes(bytes))
      problems.push(`${label} is ${bytes} bytes; ${name} needs ${KEY_SIZES[name].join(' or ')}`);
  });
  return problems;
}

/** The verdict for one EncryptionConfiguration: the provider that writes Secrets must encrypt them. */
export function secretsEncryptionVerdict(doc: Dict): Verdict {
  const entry = asDicts(doc.resources).find((r) => coversSecrets(asStrings(r.resources)));
  if (!entry) return fail('No resources entry covers secrets: Secrets are stored unencrypted (identity).');
  const providers = asDicts(entry.providers);
  if (providers.length === 0) return fail('The entry for secrets lists no providers.');
  const first = providers[0];
  const name = providerName(first);
  if (!STRONG.has(name)) {
    return fail(
      `The first provider for secrets is ${name}: new and updated Secrets are written ${name === 'identity' ? 'in plain text' : 'without an approved cipher'}; put aescbc, aesgcm, secretbox or kms (v2) first.`,
    );
  }
  const cfg = asDict(first[name]);
  if (!isDict(first[name])) return fail(`The ${name} provider has no configuration.`);
  if (name === 'kms') {
    const problems: string[] = [];
    if (asString(cfg.apiVersion) !== 'v2')
      problems.push(
        `kms apiVersion is ${asString(cfg.apiVersion) ?? 'not set (v1)'}; KMS v1 is deprecated and off by default, use v2`,
      );
    if ((asString(cfg.name) ?? '') === '') problems.push('kms has no name');
    if ((asString(cfg.endpoint) ?? '') === '') problems.push('kms has no endpoint');
    return problems.length > 0
      ? fail(`${problems.join('; ')}.`)
      : pass(`Secrets are written with KMS v2 provider ${String(cfg.name)}.`);
  }
  const problems = keyProblems(name, cfg);
  if (problems.length > 0) return fail(`${problems.join('; ')}.`);
  return pass(`Secrets are written with ${name} (${asDicts(cfg.keys).length} key(s)).`);
}

export const ENCRYPTION_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-APISERVER-ENCRYPTION-CONFIG',
    title: 'API server encrypts resources at rest with a provider configuration',
    rationale:
      'Without an encryption configuration Secrets sit in etcd and its backups as base64 text that anyone with access can read.',
    severity: 'high',
    frameworks: { ccn: ['CCN-CL-14'], bsi: ['APP.4.4.A20'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'encryption',
      text: 'an EncryptionConfiguration construct; it renders --encryption-provider-config and the node file.',
    },
    check: componentCheck('kube-apiserver', (c) => {
      const v = c.flag('encryption-provider-config');
      return v === undefined || v.trim() === ''
        ? fail('--encryption-provider-config is not set: nothing is encrypted at rest.')
        : pass(`--encryption-provider-config=${v}.`);
    }),
  },
  {
    id: 'HCB-ENCRYPTION-SECRETS-PROVIDER',
    title: 'Secrets are written to etcd with a strong cipher or KMS v2',
    rationale:
      'The API server encrypts new writes with the FIRST provider listed for a resource; identity first means plain text even when a cipher is listed after it. Keys must be present and of the right size.',
    severity: 'high',
    frameworks: { ccn: ['CCN-CL-14'], bsi: ['APP.4.4.A20'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'EncryptionConfiguration',
      prop: 'provider',
      text: "'aesgcm', 'secretbox' or 'kms'; identity may only follow as a read fallback during migration.",
    },
    check: documentCheck('EncryptionConfiguration', 'apiserver.config.k8s.io', 'EncryptionConfiguration', (d) =>
      secretsEncryptionVerdict(d.object as Dict),
    ),
  },
];
