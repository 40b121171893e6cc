/**
 * `hcb cluster up|down|status`: drives the embedded local control plane directly (the same
 * state directory the `local` Pulumi stack uses, so `status` shows the stack's cluster too).
 */
import * as path from 'path';
import { Command } from '../command';
import { defaultStateDir, toolchainBinDir } from '../package-paths';
import { synthesizeBlueprint, LocalEndpoints, ProtectionProfile } from '../../constructs/blueprint';
import { PROTECTION_PROFILES } from '../../constructs/control-plane/profile';
import { DEFAULT_LOCAL_ENDPOINTS } from '../../constructs/local-endpoints';
import { LocalControlPlane } from '../../stacks/local/control-plane';
import { intOption, noPositional, oneOf, parseOptions, UsageError, usageFailure } from '../options';

const PROFILES = PROTECTION_PROFILES;
const ACTIONS: readonly string[] = ['up', 'down', 'status'];

const DEFAULT_PORTS: LocalEndpoints = DEFAULT_LOCAL_ENDPOINTS;

const USAGE = `usage: hcb cluster up|down|status [options]

  up       start the local control plane (no-op when it already runs)
  down     stop every process (add --purge to delete data, certificates and keys)
  status   show each component's process and health (exit 1 when not ready)

options:
  --state-dir DIR      state directory (default: <repo>/.hcb/clusters/local, as the local stack)
  --profile P          basic | standard | high (default: standard)
  --api-server-port N          API server port on 127.0.0.1 (default 6443)
  --etcd-port N                etcd client port; peer and metrics use the next two (default 2379)
  --controller-manager-port N  (default 10257)
  --scheduler-port N           (default 10259)
  --json               status as JSON
`;

export const command: Command = {
  name: 'cluster',
  summary: 'start, stop or inspect the embedded local control plane',
  async run(args: string[]): Promise<number> {
    const [action, ...rest] = args;
    if (!action || action === '--help' || action === '-h') {
      process.stdout.write(USAGE);
      return action ? 0 : 2;
    }
    let opts: Options;
    try {
      const parsed = parseClusterOptions(rest);
      if (parsed === 'help') {
        process.stdout.write(USAGE);
        return 0;
      }
      opts = parsed;
    } catch (e) {
      if (e instanceof UsageError) return usageFailure(process.stderr, 'cluster', USAGE, e.message);
      throw e;
    }
    if (!ACTIONS.includes(action)) return usageFailure(process.stderr, 'cluster', USAGE, `unknown action "${action}"`);
    const blueprint = synthesizeBlueprint({
      profile: opts.profile,
      local: {
        ...DEFAULT_PORTS,
        apiServerPort: opts.apiServerPort,
        etcdClientPort: opts.etcdPort,
        etcdPeerPort: opts.etcdPort + 1,
        etcdMetricsPort: opts.etcdPort + 2,
        controllerManagerPort: opts.controllerManagerPort,
        schedulerPort: opts.schedulerPort,
      },
    });
    // Only `up` needs the binaries; down and status work without a built toolchain.
    const cp = new LocalControlPlane({
      stateDir: opts.stateDir,
      binDir: action === 'up' ? binDir() : '',
      nodeFiles: blueprint.nodeFiles,
    });
    switch (action) {
      case 'up': {
        const info = await cp.up();
        process.stdout.write(
          `API server ${info.apiServerUrl} (${info.serverVersion})\nkubeconfig ${info.kubeconfigPath}\n`,
        );
        return 0;
      }
      case 'down':
        await cp.down({ purge: opts.purge });
        process.stdout.write('stopped\n');
        return 0;
      case 'status': {
        const st = await cp.status();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(st, null, 2)}\n`);
        } else {
          for (const c of st.components) {
            const state = c.running ? (c.healthy ? 'healthy' : 'running, not healthy') : 'stopped';
            process.stdout.write(`${c.name.padEnd(24)} ${state}${c.pid ? ` (pid ${c.pid})` : ''}\n`);
          }
          if (st.apiServerUrl) process.stdout.write(`API server ${st.apiServerUrl}\nkubeconfig ${st.kubeconfigPath}\n`);
        }
        return st.ready ? 0 : 1;
      }
      default:
        return usageFailure(process.stderr, 'cluster', USAGE, `unknown action "${action}"`);
    }
  },
};

interface Options {
  stateDir: string;
  profile: ProtectionProfile;
  apiServerPort: number;
  etcdPort: number;
  controllerManagerPort: number;
  schedulerPort: number;
  purge: boolean;
  json: boolean;
}

function parseClusterOptions(args: string[]): Options | 'help' {
  const o = parseOptions(args, {
    values: ['state-dir', 'profile', 'api-server-port', 'etcd-port', 'controller-manager-port', 'scheduler-port'],
    flags: ['help', 'purge', 'json'],
    short: { h: 'help' },
  });
  if (o.flags.has('help')) return 'help';
  noPositional(o);
  const port = (name: string, fallback: number) => intOption(o, name, fallback, 1, 65533, 'a port number (1-65533)');
  const dir = o.value('state-dir');
  return {
    stateDir: dir !== undefined ? path.resolve(dir) : defaultStateDir(),
    profile: oneOf(o.options, 'profile', PROFILES, 'standard'),
    apiServerPort: port('api-server-port', 6443),
    etcdPort: port('etcd-port', 2379),
    controllerManagerPort: port('controller-manager-port', 10257),
    schedulerPort: port('scheduler-port', 10259),
    purge: o.flags.has('purge'),
    json: o.flags.has('json'),
  };
}

function binDir(): string {
  return toolchainBinDir('kubeadm', (message) => new Error(message));
}
