/**
 * `hcb report --base OLD.json --head NEW.json`: what changed between two audits (JSON results
 * of `hcb audit --format json`): new failures, fixed ones, unchanged ones. Exit 0, or 1 with
 * --fail-on-new when head has a failure base did not; 2 for usage errors and unreadable input.
 */
import * as path from 'path';
import { Command } from '../command';
import { ioError, maxConfigBytes, printable, readBoundedFile, writeFileAtomic } from '../fs-safe';
import {
  diffResults,
  parseResultsFile,
  renderDiffJson,
  renderDiffMarkdown,
  renderDiffTerminal,
  ResultsFile,
} from '../../policies/report';
import { type CliIo, oneOf, parseArgs, processIo, UsageError, useColour } from '../options';

const FORMATS = ['terminal', 'markdown', 'json'] as const;

export const REPORT_USAGE = `usage: hcb report --base OLD.json --head NEW.json [options]

Compares two results written by "hcb audit --format json": failures new in head, failures
of base that are fixed (or now accepted), and failures in both.

options:
  --base FILE        the earlier result (e.g. from the target branch)
  --head FILE        the later result (e.g. from the pull request)
  --format FORMAT    terminal (default), markdown, json
  --output FILE      write to FILE (atomically) instead of standard output
  --fail-on-new      exit 1 when head has a failure that base does not
  -h, --help         show this help

exit status: 0, or 1 with --fail-on-new and new failures; 2 usage error or unreadable input.
`;

export async function runReport(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  const err = (s: string): void => void io.stderr.write(`hcb report: ${printable(s)}\n`);
  let parsed;
  let format: (typeof FORMATS)[number];
  try {
    parsed = parseArgs(args, {
      values: ['base', 'head', 'format', 'output'],
      flags: ['help', 'fail-on-new'],
      short: { h: 'help', o: 'output' },
    });
    if (parsed.flags.has('help')) {
      io.stdout.write(REPORT_USAGE);
      return 0;
    }
    format = oneOf(parsed.options, 'format', FORMATS, 'terminal');
    for (const name of ['base', 'head']) {
      const v = parsed.options.get(name);
      if (!v) throw new UsageError(`--${name} is required`);
      if (v.length > 1) throw new UsageError(`--${name} given more than once`);
    }
    for (const name of ['format', 'output']) {
      if ((parsed.options.get(name)?.length ?? 0) > 1) throw new UsageError(`--${name} given more than once`);
    }
    if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      err(e.message);
      io.stderr.write(`\n${REPORT_USAGE}`);
      return 2;
    }
    throw e;
  }
  const baseName = parsed.options.get('base')?.[0] as string;
  const headName = parsed.options.get('head')?.[0] as string;
  const read = async (name: string): Promise<ResultsFile> => {
    const text = await readBoundedFile(path.resolve(io.cwd, name), name, maxConfigBytes(io.env));
    return parseResultsFile(text, name);
  };
  let base: ResultsFile;
  let head: ResultsFile;
  try {
    base = await read(baseName);
    head = await read(headName);
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    return 2;
  }
  const diff = diffResults(base, head);
  const output = parsed.options.get('output')?.at(-1);
  const meta = { base: baseName, head: headName, color: output === undefined && useColour(io) };
  const text =
    format === 'json'
      ? renderDiffJson(diff)
      : format === 'markdown'
        ? renderDiffMarkdown(diff, meta)
        : renderDiffTerminal(diff, meta);
  if (output !== undefined) {
    try {
      await writeFileAtomic(path.resolve(io.cwd, output), text);
    } catch (e) {
      err(`cannot write ${output}: ${ioError(e)}`);
      return 2;
    }
  } else {
    io.stdout.write(text);
  }
  err(`${diff.newFailures.length} new, ${diff.fixed.length} fixed, ${diff.unchanged.length} unchanged failures`);
  return parsed.flags.has('fail-on-new') && diff.newFailures.length > 0 ? 1 : 0;
}

export const command: Command = {
  name: 'report',
  summary: 'compare two JSON audit results: new, fixed and unchanged failures',
  run: (args) => runReport(args),
};
