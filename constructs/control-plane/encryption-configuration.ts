import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { NodeConfigFile } from './node-config-file';
import { ENCRYPTION_CONFIG_PATH } from './paths';
import { checkDuration } from './validation';

/** Local providers with a key in the file; 'kms' delegates to a KMS v2 plugin. */
export type EncryptionProviderType = 'secretbox' | 'aescbc' | 'aesgcm' | 'kms';

/** Name of a key the stack generates and keeps; the constructs only ever see the name. */
export const SECRET_KEY_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The placeholder written in place of key material, replaced on the node by the stack. */
export function secretToken(name: string): string {
  return `{{hcb-secret:${name}}}`;
}

/** A KMS v2 plugin (the recommended provider for real clusters). No secret enters the file. */
export interface KmsV2Provider {
  /** Provider name, unique in the file. */
  readonly name: string;
  /** gRPC endpoint of the plugin, e.g. 'unix:///var/run/kms-plugin/socket.sock'. */
  readonly endpoint: string;
  /** @default '3s' */
  readonly timeout?: string;
}

export interface EncryptionConfigurationProps {
  /**
   * Provider that encrypts new writes.
   * @default 'secretbox' (or 'kms' when `kms` is given)
   */
  readonly provider?: EncryptionProviderType;
  /**
   * Names of the keys of a local provider, newest first: the first encrypts, all decrypt. The
   * key material never enters the blueprint: each key is written as the token
   * `{{hcb-secret:<name>}}`, which the stack replaces on the node with 32 random bytes
   * (base64) it generates once and keeps in its private state directory.
   *
   * Rotation (one API server; with several, do step 1 on all of them before step 2):
   * 1. `['key-2', 'key-1']` – add the new key first (with several API servers: add it
   *    second everywhere, restart all, then move it first);
   * 2. re-write every encrypted object so it uses the new key:
   *    `kubectl get secrets -A -o json | kubectl replace -f -` (same for extra resources);
   * 3. `['key-2']` – remove the old key once nothing is encrypted with it.
   * @default ['encryption-key-1']
   */
  readonly keys?: string[];
  /** KMS v2 plugin; required when provider is 'kms'. @default - none */
  readonly kms?: KmsV2Provider;
  /**
   * Resources to encrypt besides secrets, e.g. ['configmaps', 'tokenreviews.authentication.k8s.io' ].
   * @default - secrets only
   */
  readonly extraResources?: string[];
  /**
   * Keep `identity` as the LAST provider so objects written before encryption was enabled
   * stay readable (they are re-encrypted when re-written). It never encrypts anything.
   * @default true
   */
  readonly readUnencrypted?: boolean;
}

/**
 * The API server's EncryptionConfiguration (apiserver.config.k8s.io/v1) for
 * --encryption-provider-config. Secrets (and extraResources) are written with a strong
 * provider; identity, when kept, is only the last, read-only fallback. The node file is
 * sensitive (mode 0600) even though the rendered content only holds tokens.
 */
export class EncryptionConfiguration extends NodeConfigFile {
  public readonly provider: EncryptionProviderType;
  public readonly keyNames: readonly string[];
  public readonly resources: readonly string[];
  private readonly kms?: KmsV2Provider;
  private readonly readUnencrypted: boolean;

  constructor(scope: Construct, id: string, props: EncryptionConfigurationProps = {}) {
    super(scope, id, { path: ENCRYPTION_CONFIG_PATH, mode: 0o600, role: 'encryption-config', sensitive: true });
    this.provider = props.provider ?? (props.kms ? 'kms' : 'secretbox');
    if (!['secretbox', 'aescbc', 'aesgcm', 'kms'].includes(this.provider)) {
      throw new BlueprintPropError(
        this,
        'provider',
        this.provider,
        'not a strong encryption provider',
        "use 'secretbox', 'aescbc', 'aesgcm' or 'kms' (identity is never a write provider)",
      );
    }
    this.readUnencrypted = props.readUnencrypted ?? true;
    if (this.provider === 'kms') {
      if (!props.kms) {
        throw new BlueprintPropError(
          this,
          'kms',
          props.kms,
          "provider 'kms' needs a KMS v2 plugin",
          'set kms: { name, endpoint }',
        );
      }
      if (!SECRET_KEY_NAME.test(props.kms.name ?? '')) {
        throw new BlueprintPropError(
          this,
          'kms.name',
          props.kms.name,
          'not a valid provider name',
          "use lower-case letters, digits and '-'",
        );
      }
      if (!/^unix:\/\/\/.+/.test(props.kms.endpoint ?? '')) {
        throw new BlueprintPropError(
          this,
          'kms.endpoint',
          props.kms.endpoint,
          'not a unix socket endpoint',
          "use 'unix:///path/to/socket'",
        );
      }
      checkDuration(this, 'kms.timeout', props.kms.timeout ?? '3s');
      if (props.keys !== undefined) {
        throw new BlueprintPropError(
          this,
          'keys',
          props.keys,
          "local keys are not used with provider 'kms'",
          'remove keys, or choose a local provider',
        );
      }
      this.kms = props.kms;
      this.keyNames = [];
    } else {
      if (props.kms) {
        throw new BlueprintPropError(
          this,
          'kms',
          props.kms,
          `a KMS plugin is given but provider is '${this.provider}'`,
          "set provider: 'kms' or remove kms",
        );
      }
      const keys = props.keys ?? ['encryption-key-1'];
      if (keys.length === 0) {
        throw new BlueprintPropError(
          this,
          'keys',
          keys,
          'no key is named',
          "name at least one key, e.g. ['encryption-key-1']",
        );
      }
      keys.forEach((k, i) => {
        if (typeof k !== 'string' || k.length === 0) {
          throw new BlueprintPropError(
            this,
            `keys[${i}]`,
            k,
            'the key name is empty',
            "name the key, e.g. 'encryption-key-1' (the stack generates its material)",
          );
        }
        if (!SECRET_KEY_NAME.test(k)) {
          throw new BlueprintPropError(
            this,
            `keys[${i}]`,
            k,
            'not a valid key name',
            "use 1-63 lower-case letters, digits and '-', starting with a letter or digit; never the key itself",
          );
        }
        if (keys.indexOf(k) !== i) {
          throw new BlueprintPropError(
            this,
            `keys[${i}]`,
            k,
            'the key is listed twice',
            'list each key once, newest first',
          );
        }
      });
      this.keyNames = [...keys];
    }
    const extra = props.extraResources ?? [];
    const resources = ['secrets'];
    extra.forEach((r, i) => {
      if (!/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(r) && r !== '*.*') {
        throw new BlueprintPropError(
          this,
          `extraResources[${i}]`,
          r,
          "not a resource name ('resource' or 'resource.group')",
          "use e.g. 'configmaps' or 'widgets.example.org'",
        );
      }
      if (resources.includes(r)) {
        throw new BlueprintPropError(
          this,
          `extraResources[${i}]`,
          r,
          'the resource is listed twice (secrets are always encrypted)',
          'list each resource once',
        );
      }
      resources.push(r);
    });
    this.resources = resources;
  }

  protected describe(): string {
    return 'kube-apiserver encryption at rest (--encryption-provider-config); key tokens are replaced on the node';
  }

  public toObjects(): KubeObject[] {
    const strong: Record<string, unknown> =
      this.provider === 'kms'
        ? {
            kms: {
              apiVersion: 'v2',
              name: this.kms!.name,
              endpoint: this.kms!.endpoint,
              timeout: this.kms!.timeout ?? '3s',
            },
          }
        : { [this.provider]: { keys: this.keyNames.map((name) => ({ name, secret: secretToken(name) })) } };
    const providers: Array<Record<string, unknown>> = [strong];
    if (this.readUnencrypted) providers.push({ identity: {} });
    return [
      {
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'EncryptionConfiguration',
        resources: [{ resources: [...this.resources], providers }],
      },
    ];
  }
}
