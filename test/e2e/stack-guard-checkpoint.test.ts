/**
 * The real Pulumi CLI on a file backend whose checkpoint attribute file a killed save left empty
 * (stacks/local/stack-guard.ts, repairCheckpointSidecars; seen in faults-live when the SIGKILL
 * landed inside a save): every command on the stack fails until the guard repairs it, and the
 * repair keeps the checkpoint. No cluster: a stack with config only.
 */
import * as fs from 'fs';
import * as path from 'path';
import { prepare } from '../../stacks/local/stack-guard';
import { mustRun, pulumiEnv, run, tempDir, toolchainBin } from './support/env';

const bin = toolchainBin();

describe('stack guard: a checkpoint attribute file emptied by a killed pulumi', () => {
  it('makes the CLI fail with "failed to load checkpoint: EOF" until prepare removes it; the checkpoint is kept', () => {
    const home = fs.realpathSync(tempDir('guard-checkpoint'));
    const project = path.join(home, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'Pulumi.yaml'), 'name: hcb\nruntime: nodejs\n');
    const env = pulumiEnv(home, bin);
    const pulumi = (args: string[]) =>
      run(path.join(bin, 'pulumi'), [...args, '--non-interactive'], { cwd: project, env });
    mustRun(path.join(bin, 'pulumi'), ['stack', 'init', 'local', '--non-interactive'], { cwd: project, env });
    mustRun(path.join(bin, 'pulumi'), ['config', 'set', 'marker', 'kept', '--stack', 'local', '--non-interactive'], {
      cwd: project,
      env,
    });
    const before = pulumi(['stack', 'export', '--stack', 'local']);
    expect(before.status).toBe(0);

    const checkpoint = path.join(home, 'backend/.pulumi/stacks/hcb/local.json');
    expect(fs.existsSync(`${checkpoint}.attrs`)).toBe(true);
    const content = fs.readFileSync(checkpoint, 'utf8');
    // What fileblob's setAttrs leaves when the process dies between os.Create and the JSON encode.
    fs.writeFileSync(`${checkpoint}.attrs`, '');
    // And a checkpoint write that was never renamed into place.
    fs.writeFileSync(`${checkpoint}.1a2b3c4d5e6f.tmp`, content.slice(0, 20));

    const broken = pulumi(['stack', 'export', '--stack', 'local']);
    expect(broken.status).not.toBe(0);
    expect(broken.stderr).toContain('failed to load checkpoint: EOF');

    const lines: string[] = [];
    const r = prepare('local', { cwd: project, env, log: (l) => lines.push(l) });
    expect(r.ok).toBe(true);
    expect(r.repairedSidecars).toEqual([`${checkpoint}.attrs`]);
    expect(lines.join('\n')).toContain(`removing ${checkpoint}.attrs (empty)`);
    expect(fs.existsSync(`${checkpoint}.1a2b3c4d5e6f.tmp`)).toBe(false);

    const after = pulumi(['stack', 'export', '--stack', 'local']);
    expect(after.status).toBe(0);
    expect(after.stdout).toBe(before.stdout);
    expect(fs.readFileSync(checkpoint, 'utf8')).toBe(content);
    const cfg = pulumi(['config', 'get', 'marker', '--stack', 'local']);
    expect(cfg.stdout.trim()).toBe('kept');
    fs.rmSync(home, { recursive: true, force: true });
  });
});
