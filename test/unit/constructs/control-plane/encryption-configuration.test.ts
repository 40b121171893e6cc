import { App } from 'cdk8s';
import { BlueprintPropError } from '../../../../constructs/common/errors';
import {
  EncryptionConfiguration,
  EncryptionConfigurationProps,
  secretToken,
} from '../../../../constructs/control-plane/encryption-configuration';

function enc(props?: EncryptionConfigurationProps): EncryptionConfiguration {
  return new EncryptionConfiguration(new App(), 'enc', props);
}
function obj(props?: EncryptionConfigurationProps): Record<string, any> {
  return enc(props).toObjects()[0] as Record<string, any>;
}

describe('EncryptionConfiguration', () => {
  test('secrets with secretbox first, identity only last, keys as tokens', () => {
    const o = obj();
    expect(o.apiVersion).toBe('apiserver.config.k8s.io/v1');
    expect(o.kind).toBe('EncryptionConfiguration');
    expect(o.resources).toEqual([
      {
        resources: ['secrets'],
        providers: [
          { secretbox: { keys: [{ name: 'encryption-key-1', secret: '{{hcb-secret:encryption-key-1}}' }] } },
          { identity: {} },
        ],
      },
    ]);
  });

  test('the node file is sensitive, root-owned and 0600, and carries no key material', () => {
    const f = enc().nodeFile;
    expect(f).toMatchObject({
      path: '/etc/kubernetes/encryption/encryption-config.yaml',
      owner: 'root',
      group: 'root',
      mode: 0o600,
      sensitive: true,
      createdBy: 'blueprint',
      role: 'encryption-config',
    });
    expect(f.content).toContain(secretToken('encryption-key-1'));
    expect(f.content).not.toMatch(/[A-Za-z0-9+/]{43}=/);
  });

  test('key rotation: the newest key first encrypts, the older ones stay for reading', () => {
    const keys = obj({ keys: ['encryption-key-2', 'encryption-key-1'] }).resources[0].providers[0].secretbox.keys;
    expect(keys.map((k: { name: string }) => k.name)).toEqual(['encryption-key-2', 'encryption-key-1']);
    const after = obj({ keys: ['encryption-key-2'] }).resources[0].providers[0].secretbox.keys;
    expect(after).toEqual([{ name: 'encryption-key-2', secret: '{{hcb-secret:encryption-key-2}}' }]);
  });

  test('aescbc and aesgcm providers, extra resources, no identity fallback', () => {
    const o = obj({
      provider: 'aesgcm',
      extraResources: ['configmaps', 'widgets.example.org'],
      readUnencrypted: false,
    });
    expect(o.resources[0].resources).toEqual(['secrets', 'configmaps', 'widgets.example.org']);
    expect(o.resources[0].providers).toEqual([
      { aesgcm: { keys: [{ name: 'encryption-key-1', secret: '{{hcb-secret:encryption-key-1}}' }] } },
    ]);
    expect(Object.keys(obj({ provider: 'aescbc' }).resources[0].providers[0])).toEqual(['aescbc']);
  });

  test('KMS v2 for real clusters', () => {
    const o = obj({ kms: { name: 'vault', endpoint: 'unix:///var/run/kms/socket.sock' } });
    expect(o.resources[0].providers[0]).toEqual({
      kms: { apiVersion: 'v2', name: 'vault', endpoint: 'unix:///var/run/kms/socket.sock', timeout: '3s' },
    });
    expect(o.resources[0].providers[1]).toEqual({ identity: {} });
  });

  test.each<[EncryptionConfigurationProps, string]>([
    [{ keys: [''] }, 'keys[0]'],
    [{ provider: 'kms' }, 'kms'],
    [{ kms: { name: 'vault', endpoint: 'tcp://10.0.0.1:1234' } }, 'kms.endpoint'],
    [{ kms: { name: 'vault', endpoint: 'unix:///s.sock' }, keys: ['k1'] }, 'keys'],
    [{ provider: 'secretbox', kms: { name: 'vault', endpoint: 'unix:///s.sock' } }, 'kms'],
    [{ extraResources: ['secrets'] }, 'extraResources[0]'],
    [{ extraResources: ['Not A Resource'] }, 'extraResources[0]'],
  ])('%j fails on %s', (props, prop) => {
    let err: unknown;
    try {
      enc(props);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BlueprintPropError);
    expect((err as BlueprintPropError).prop).toBe(prop);
  });
});
