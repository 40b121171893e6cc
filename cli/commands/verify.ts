/**
 * `hcb verify`: the catalogue over the running local control plane — the command lines of the
 * running processes, the files they read, owner and mode of the node files on disk, the
 * blueprint's namespaces read back through the API — plus behavioural probes (anonymous
 * request, TLS 1.1 and weak-cipher handshakes, pprof). Same formats and exit codes as audit.
 */
import * as path from 'path';
import { Command } from '../command';
import { noPositional, oneOf, parseOptions, UsageError, usageFailure } from '../options';
import { defaultStateDir } from '../package-paths';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import { CATALOGUE } from '../../policies/catalogue';
import { Finding } from '../../policies/model';
import { REPORT_FORMATS, RENDERERS, ReportFormat, summarizeFindings } from '../../policies/report';
import { stackSpec } from '../../stacks/spec';
import { ioError, printable } from '../fs-safe';
import { loadStackConfig } from '../stack-config';
import { verifyLocalCluster } from '../../stacks/local/verify';
import { DEFAULT_FAIL_ON, FAIL_ON_LEVELS, FailOn, failsRun, writeFileAtomic } from './audit';
import { HOSTS_VERIFY_VALUES, hostsVerifyChoice, type HostsVerifyArgs } from './verify-hosts';

/**
 * Control id of the findings for what verify expected and did not observe (a component not
 * running, a file a flag names missing, a namespace not there). They are `error` findings, so
 * every report format counts them as failing and the exit code follows the report.
 */
export const NOT_OBSERVED_CONTROL = 'HCB-VERIFY-OBSERVED';

/** What was expected and not observed, as error findings. */
export function notObservedFindings(missing: readonly string[], stateDir: string): Finding[] {
  return missing.map((m) => ({
    control: NOT_OBSERVED_CONTROL,
    status: 'error' as const,
    severity: 'high' as const,
    frameworks: {},
    object: { file: `live:${stateDir}` },
    message: `Not observed: ${m}; the controls that read it could not check the running cluster.`,
    remediation:
      'Start the local cluster (`npm run up`, or `hcb cluster up` for the control plane alone) with this state directory, or pass the --state-dir and --stack-config of the cluster to verify.',
  }));
}

const USAGE = `usage: hcb verify [--state-dir DIR] [--stack-config FILE] [--format F] [--output FILE] [--fail-on S]
       hcb verify --stack NAME | --stack-config FILE | --host ADDR --host-key FILE --ssh-key FILE [--host-name NAME]
                  [--format F] [--output FILE] [--fail-on S]

Checks the running cluster against the catalogue: what runs, not what was meant. The local
control plane by default; a hosts-target cluster over SSH with --stack, --host, or a stack config
whose hcb:target is hosts (every host, then the API probes through the API endpoint).
  --state-dir DIR      the cluster's state directory (default <repo>/.hcb/clusters/local)
  --stack-config FILE  \`pulumi config --json\` of the stack (default: the stack defaults; with
                       \`--show-secrets\` for a hosts stack)
  --stack NAME         a hosts stack: its config from \`pulumi config --json --show-secrets\`
  --host ADDR          one control-plane host, [USER@]ADDRESS[:PORT], without Pulumi
  --host-key FILE      its pinned OpenSSH host public key line (with --host)
  --ssh-key FILE       the SSH private key the hosts authorise (mode 0600)
  --host-name NAME     the name findings give the --host (default its address)
  --format F           ${REPORT_FORMATS.join(' | ')} (default terminal)
  --output FILE        write the report to FILE instead of standard output
  --fail-on S          ${FAIL_ON_LEVELS.join(' | ')} (default ${DEFAULT_FAIL_ON})
  -h, --help           show this help

exit status: 0 no failing finding at or above --fail-on, 1 at least one (an error, and anything
expected but not observed, always counts), 2 usage error.
`;

export const command: Command = {
  name: 'verify',
  summary: 'check the running cluster, local or hosts over SSH (processes, files, API objects, probes)',
  async run(args: string[]): Promise<number> {
    let stateDir: string;
    let stackConfig: string | undefined;
    let format: ReportFormat;
    let output: string | undefined;
    let failOn: FailOn;
    let hosts: HostsVerifyArgs | undefined;
    try {
      const o = parseOptions(args, {
        values: ['state-dir', 'stack-config', 'output', 'format', 'fail-on', ...HOSTS_VERIFY_VALUES],
        flags: ['help'],
        short: { h: 'help' },
      });
      if (o.flags.has('help')) {
        process.stdout.write(USAGE);
        return 0;
      }
      noPositional(o);
      const dir = o.value('state-dir');
      stateDir = dir !== undefined ? path.resolve(dir) : defaultStateDir();
      stackConfig = o.value('stack-config');
      output = o.value('output');
      format = oneOf(o.options, 'format', REPORT_FORMATS, 'terminal');
      failOn = oneOf(o.options, 'fail-on', FAIL_ON_LEVELS, DEFAULT_FAIL_ON);
      hosts = hostsVerifyChoice(o, dir !== undefined);
    } catch (e) {
      if (e instanceof UsageError) return usageFailure(process.stderr, 'verify', USAGE, e.message);
      throw e;
    }
    let spec;
    // With a stack config, whether the cluster should have its node (hcb:node): a node that should
    // run and does not is reported as not observed. Without one, a node is expected when its state exists.
    let node: boolean | undefined;
    try {
      const loaded = stackConfig && !hosts ? await loadStackConfig(stackConfig) : undefined;
      spec = loaded ? loaded.spec : stackSpec(() => undefined).spec;
      node = loaded?.node;
    } catch (e) {
      process.stderr.write(`hcb verify: ${printable((e as Error).message)}\n`);
      return 2;
    }
    const blueprint = synthesizeBlueprint(spec);
    let findings: Finding[];
    let missing: string[];
    let input = `live:${stateDir}`;
    if (hosts) {
      try {
        const r = await (await import('./verify-hosts')).runHostsVerify(hosts, blueprint);
        [findings, missing, input] = [r.findings, r.notes, r.input];
      } catch (e) {
        process.stderr.write(`hcb verify: ${printable((e as Error).message)}\n`);
        return 1;
      }
    } else {
      const local = await verifyLocalCluster({
        stateDir,
        nodeFiles: blueprint.nodeFiles,
        namespaces: blueprint.namespaceNames,
        exceptions: blueprint.exceptions,
        ...(node !== undefined ? { node } : {}),
      });
      missing = local.missing;
      findings = [...local.findings, ...notObservedFindings(missing, stateDir)];
    }
    for (const m of missing) process.stderr.write(`hcb verify: not observed: ${m}\n`);
    const summary = summarizeFindings(findings);
    const report = RENDERERS[format](findings, summary, {
      tool: { name: 'hcb' },
      inputs: [input],
      controls: CATALOGUE,
    });
    if (output) {
      try {
        await writeFileAtomic(path.resolve(output), report);
      } catch (e) {
        process.stderr.write(`hcb verify: cannot write ${printable(output)}: ${ioError(e)}\n`);
        return 2;
      }
    } else process.stdout.write(report);
    // Exit 1 exactly when the report has a failing finding at or above --fail-on (an error,
    // including anything not observed, always counts), as for hcb audit.
    const failing = failsRun(findings, failOn);
    const c = summary.byStatus;
    const below = !failing && c.fail > 0 ? ` (${c.fail} below --fail-on ${failOn})` : '';
    process.stderr.write(
      `hcb verify: ${c.fail} failed, ${c.error} errors${missing.length ? ` (${missing.length} not observed)` : ''}, ${c.accepted} accepted, ` +
        `${c['not-evaluated']} not evaluated, ${c.pass} passed → exit ${failing ? 1 : 0}${below}\n`,
    );
    return failing ? 1 : 0;
  },
};
