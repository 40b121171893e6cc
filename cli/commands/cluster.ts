/**
 * `hcb cluster up|down|status`: drives the embedded local control plane directly (the same
 * state directory the `local` Pulumi stack uses, so `status` shows the stack's cluster too).
 */
import * as path from 'path';
import { Command } from '../command';
import { defaultStateDir, toolchainBinDir } from '../package-paths';
import { synthesizeBlueprint, LocalEndpoints, ProtectionProfile } from '../../constructs/blueprint';
import { LocalControlPlane } from '../../stacks/local/control-plane';


const DEFAULT_PORTS: LocalEndpoints = {
  apiServerPort: 6443,
  etcdClientPort: 2379,
  etcdPeerPort: 2380,
  etcdMetricsPort: 2381,
  controllerManagerPort: 10257,
  schedulerPort: 10259,
};

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
    const opts = parseOptions(rest);
    if (typeof opts === 'string') {
      process.stderr.write(`hcb cluster: ${opts}\n\n${USAGE}`);
      return 2;
    }
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
    const cp = new LocalControlPlane({ stateDir: opts.stateDir, binDir: action === 'up' ? binDir() : '', nodeFiles: blueprint.nodeFiles });
    switch (action) {
      case 'up': {
        const info = await cp.up();
        process.stdout.write(`API server ${info.apiServerUrl} (${info.serverVersion})\nkubeconfig ${info.kubeconfigPath}\n`);
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
        process.stderr.write(`hcb cluster: unknown action "${action}"\n\n${USAGE}`);
        return 2;
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

function parseOptions(args: string[]): Options | string {
  const o: Options = { stateDir: defaultStateDir(), profile: 'standard', apiServerPort: 6443, etcdPort: 2379, controllerManagerPort: 10257, schedulerPort: 10259, purge: false, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--state-dir') o.stateDir = path.resolve(value());
      else if (a === '--profile') {
        const p = value();
        if (!['basic', 'standard', 'high'].includes(p)) return `--profile "${p}" is not one of basic, standard, high`;
        o.profile = p as ProtectionProfile;
      } else if (a === '--api-server-port' || a === '--etcd-port' || a === '--controller-manager-port' || a === '--scheduler-port') {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 65533) return `${a} must be a port number (1-65533)`;
        if (a === '--api-server-port') o.apiServerPort = n;
        else if (a === '--etcd-port') o.etcdPort = n;
        else if (a === '--controller-manager-port') o.controllerManagerPort = n;
        else o.schedulerPort = n;
      } else if (a === '--purge') o.purge = true;
      else if (a === '--json') o.json = true;
      else return `unknown option "${a}"`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return o;
}

function binDir(): string {
  return toolchainBinDir('kubeadm', (message) => new Error(message));
}
