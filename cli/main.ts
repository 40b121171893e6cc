#!/usr/bin/env node
/**
 * The `hcb` command. Each subcommand lives in cli/commands/<name>.ts and exports a `command`
 * object; this file only dispatches, so adding a command never touches another one.
 */
import { COMMANDS } from './commands';
import { printable } from './fs-safe';
import { packageVersion } from './package-paths';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `hcb help <command>` is `hcb <command> --help`.
  if (name === 'help' && rest.length > 0) {
    const target = COMMANDS.find((c) => c.name === rest[0]);
    if (!target || rest.length > 1) {
      process.stderr.write(
        `hcb help: ${target ? 'give one command' : `unknown command "${printable(rest[0])}"`}\n\n${usage()}`,
      );
      return 2;
    }
    return target.run(['--help']);
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${packageVersion() ?? 'unknown'}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`hcb: unknown command "${printable(name)}"\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: hcb <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "hcb <command> --help" or "hcb help <command>" for a command's options.\n`;
}

/**
 * A reader that stops early (`hcb audit … | head -1`) closes the pipe: the rest of the output has
 * nowhere to go, which is no error of ours. Further writes are dropped, the exit code stays the
 * command's own, and no stack trace is printed.
 */
function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    process.stderr.write(`hcb: cannot write output: ${e.code ?? e.message}\n`);
    process.exitCode = 1;
  });
}
if (require.main === module) run();

function run(): void {
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(process.stderr);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`hcb: ${printable(err instanceof Error ? err.message : String(err))}\n`);
      process.exitCode = 1;
    },
  );
}
