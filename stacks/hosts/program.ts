/**
 * The Pulumi program's entry points for the `hosts` target. The bring-up (binaries, node files,
 * kubeadm init/join over SSH) is not built yet; until it is, the program stops here with a clear
 * message instead of applying the baseline to whatever cluster a kubeconfig names.
 *
 * Hook for stacks/index.ts (kept out of that file while others change it):
 *
 *   const { target, ... , hosts } = stackSpec(pulumiConfigReader(config));
 *   if (target === 'hosts') hostsTargetNotBuilt(hosts!);
 */
import type * as pulumi from '@pulumi/pulumi';
import type { ConfigReader } from '../spec';
import type { HostsTargetSpec } from './config';

/**
 * A stack config reader over `pulumi.Config` that can tell secrets apart: JSON lists and objects
 * (as `config.get` returns them) are parsed, and `isSecret` asks the Pulumi runtime.
 */
export function pulumiConfigReader(config: pulumi.Config, isConfigSecret: (fullKey: string) => boolean = runtimeIsConfigSecret): ConfigReader {
  const reader: ConfigReader = (key) => {
    const v = config.get(key);
    return v === undefined ? undefined : /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
  };
  reader.isSecret = (key) => isConfigSecret(`${config.name}:${key}`);
  return reader;
}

/**
 * `@pulumi/pulumi` knows which keys are secret (the language host passes their names) but marks
 * the function internal; it is read at run time, and an SDK without it is an error, not "plain".
 */
function runtimeIsConfigSecret(fullKey: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const rt = require('@pulumi/pulumi/runtime/config') as { isConfigSecret?: (k: string) => boolean };
  if (typeof rt.isConfigSecret !== 'function') {
    throw new Error(`hcb: this @pulumi/pulumi cannot say whether ${fullKey} is a secret; the hosts target needs @pulumi/pulumi 3.185 or later`);
  }
  return rt.isConfigSecret(fullKey);
}

/** Stops the program for the hosts target until its bring-up exists. */
export function hostsTargetNotBuilt(spec: HostsTargetSpec): never {
  const names = spec.hosts.map((h) => `${h.name} (${h.role})`).join(', ');
  throw new Error(
    `hcb: hcb:target hosts is not built yet: the stack config is valid (${spec.hosts.length} host(s): ${names}), but bringing the cluster up over SSH ` +
      '(binaries, node files, kubeadm init/join) does not exist yet. Nothing was changed on the hosts. Use hcb:target local or existing for now.',
  );
}
