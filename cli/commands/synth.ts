/**
 * `hcb synth`: writes the blueprint's output for review and audit:
 *   <out>/cluster.yaml        every cluster object (multi-document YAML)
 *   <out>/control-plane.yaml  kubeadm, kubelet, audit, encryption and admission configuration,
 *                             and the node file manifest (secrets appear only as tokens)
 *   <out>/exceptions.yaml     the blueprint's reviewed exceptions (a ControlExceptionList) for
 *                             `hcb audit --exceptions`; hcb audit never applies it from its input
 * The directory is written to a temporary sibling first and swapped in whole.
 */
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { Command } from '../command';
import { synthesizeBlueprint, BlueprintSpec, ProtectionProfile, SynthesizedBlueprint } from '../../constructs/blueprint';
import { exceptionListDocument } from '../../policies/exceptions';
import { readerFromPulumiConfigJson, stackSpec } from '../../stacks/spec';

const USAGE = `usage: hcb synth [--out DIR] [--profile basic|standard|high] [--namespace NAME ...] [--local]

Synthesizes the blueprint into DIR (default ./cdk8s.out/hcb): cluster.yaml, control-plane.yaml
and exceptions.yaml (audit with: hcb audit DIR --exceptions DIR/exceptions.yaml).
  --local    the embedded local control plane's settings (loopback ports) instead of a real node's
  --stack-config FILE  build exactly what a Pulumi stack applies, from \`pulumi config --json\` output
                       (replaces --profile, --namespace and --local)
`;

export const command: Command = {
  name: 'synth',
  summary: 'write the blueprint (cluster objects and control-plane files) as YAML',
  async run(args: string[]): Promise<number> {
    let out = path.resolve('cdk8s.out/hcb');
    let profile: ProtectionProfile = 'standard';
    const namespaces: string[] = [];
    let local = false;
    let stackConfig: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '--help' || a === '-h') {
        process.stdout.write(USAGE);
        return 0;
      } else if (a === '--out' && args[i + 1]) out = path.resolve(args[++i]);
      else if (a === '--profile' && args[i + 1]) {
        const p = args[++i];
        if (!['basic', 'standard', 'high'].includes(p)) {
          process.stderr.write(`hcb synth: --profile "${p}" is not one of basic, standard, high\n`);
          return 2;
        }
        profile = p as ProtectionProfile;
      } else if (a === '--namespace' && args[i + 1]) namespaces.push(args[++i]);
      else if (a === '--local') local = true;
      else if (a === '--stack-config' && args[i + 1]) stackConfig = args[++i];
      else {
        process.stderr.write(`hcb synth: unknown or incomplete option "${a}"\n\n${USAGE}`);
        return 2;
      }
    }
    if (stackConfig) {
      let spec: BlueprintSpec;
      try {
        spec = stackSpec(readerFromPulumiConfigJson(JSON.parse(fs.readFileSync(stackConfig, 'utf8')))).spec;
      } catch (e) {
        process.stderr.write(`hcb synth: --stack-config ${stackConfig}: ${(e as Error).message}\n`);
        return 2;
      }
      const files = writeSynthOutput(out, synthesizeBlueprint(spec));
      process.stderr.write(`hcb synth: wrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
      return 0;
    }
    const spec: BlueprintSpec = {
      profile,
      namespaces: (namespaces.length ? namespaces : ['hcb-demo']).map((name) => ({ name })),
      local: local
        ? { apiServerPort: 6443, etcdClientPort: 2379, etcdPeerPort: 2380, etcdMetricsPort: 2381, controllerManagerPort: 10257, schedulerPort: 10259 }
        : undefined,
    };
    const files = writeSynthOutput(out, synthesizeBlueprint(spec));
    process.stderr.write(`hcb synth: wrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
    return 0;
  },
};

/** Renders documents as one multi-document YAML string with stable formatting. */
export function toYaml(docs: unknown[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** Writes the synthesized output into `dir`, replacing it whole; returns the file paths. */
export function writeSynthOutput(dir: string, synth: SynthesizedBlueprint): string[] {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'cluster.yaml'), toYaml(synth.clusterObjects));
  fs.writeFileSync(path.join(tmp, 'control-plane.yaml'), toYaml(synth.configDocuments));
  fs.writeFileSync(path.join(tmp, 'exceptions.yaml'), toYaml([exceptionListDocument(synth.exceptions)]));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(tmp, dir);
  return ['cluster.yaml', 'control-plane.yaml', 'exceptions.yaml'].map((f) => path.join(dir, f));
}
