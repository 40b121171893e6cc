#!/usr/bin/env node
/**
 * The `hcb` command. Each subcommand lives in cli/commands/<name>.ts and exports a `command`
 * object; this file only dispatches, so adding a command never touches another one.
 */
import { COMMANDS } from './commands';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`hcb: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

/** The package's version, from source (cli/) or compiled (dist/cli/) alike. */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'hardened-cluster-blueprint' && pkg.version) return pkg.version;
    } catch {
      /* try the next location */
    }
  }
  return 'unknown';
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: hcb <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "hcb <command> --help" for a command's options.\n`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`hcb: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
