/**
 * What every hcb command shares for its options and its IO: the option parser (--name value,
 * --name=value, repeated options, -- ends options), usage errors (exit 2 with the command's usage),
 * the IO seam tests run commands through, and the colour rule. Commands import these from here.
 */

import { printable } from './fs-safe';

/** Everything the command touches outside itself, so tests can run it in-process. */
export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
  readStdin?: () => Promise<string>;
  /** The clock. @default () => new Date() */
  clock?: () => Date;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export class UsageError extends Error {}

/** A small option parser: --name value, --name=value, repeated options, -- ends options. */
export function parseArgs(
  args: readonly string[],
  spec: { values: readonly string[]; flags: readonly string[]; short?: Record<string, string> },
): { options: Map<string, string[]>; flags: Set<string>; positional: string[] } {
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      for (const rest of args.slice(i + 1)) positional.push(rest);
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      positional.push(a);
      continue;
    }
    let name = a.startsWith('--') ? a.slice(2) : (spec.short?.[a.slice(1)] ?? '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (a.startsWith('--') && eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (spec.flags.includes(name)) {
      if (value !== undefined) throw new UsageError(`option --${name} takes no value`);
      flags.add(name);
    } else if (spec.values.includes(name)) {
      if (value === undefined) {
        if (i + 1 >= args.length) throw new UsageError(`option --${name} needs a value`);
        value = args[++i];
      }
      options.set(name, [...(options.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option ${a}`);
    }
  }
  return { options, flags, positional };
}

/** Last value of an option, checked against the allowed ones. */
export function oneOf<T extends string>(
  options: Map<string, string[]>,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const values = options.get(name);
  if (!values) return fallback;
  const v = values[values.length - 1];
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

/** Colours only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColour(io: CliIo): boolean {
  return !!io.stdout.isTTY && !(io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '');
}

/**
 * The first of `names` that `args` gives more than once: an option given twice is a mistake (which
 * one was meant?), not "the last one wins".
 */
export function firstRepeated(args: readonly string[], names: readonly string[]): string | undefined {
  return names.find((o) => args.filter((x) => x === o).length > 1);
}

/** What a command accepts: options with a value, flags, one-letter aliases, and which value options may repeat. */
export interface OptionSpec {
  values: readonly string[];
  flags: readonly string[];
  short?: Record<string, string>;
  /** Value options that may be given more than once (e.g. --namespace); any other repeated option is a usage error. */
  repeatable?: readonly string[];
}

export interface ParsedOptions {
  options: Map<string, string[]>;
  flags: Set<string>;
  positional: string[];
  /** The value of a single-valued option, or undefined when it is not given. */
  value(name: string): string | undefined;
}

/**
 * The parser every command uses: parseArgs, then a repeated option (value or flag) that is not
 * repeatable is a usage error (which one was meant?). Errors are UsageErrors with the messages
 * every command prints: `unknown option X`, `option --x needs a value`, `option --x takes no
 * value`, `--x given more than once`.
 */
export function parseOptions(args: readonly string[], spec: OptionSpec): ParsedOptions {
  const parsed = parseArgs(args, spec);
  for (const [name, values] of parsed.options) {
    if (values.length > 1 && !(spec.repeatable ?? []).includes(name))
      throw new UsageError(`--${name} given more than once`);
  }
  const flagNames = new Set(
    Object.entries(spec.short ?? {})
      .filter(([, long]) => spec.flags.includes(long))
      .map(([s, long]) => [`-${s}`, `--${long}`])
      .flat(),
  );
  for (const f of spec.flags) flagNames.add(`--${f}`);
  const flagUses = new Map<string, number>();
  for (const a of args) {
    if (a === '--') break;
    if (!flagNames.has(a)) continue;
    const long = a.startsWith('--') ? a.slice(2) : spec.short![a.slice(1)];
    flagUses.set(long, (flagUses.get(long) ?? 0) + 1);
  }
  for (const [name, n] of flagUses)
    if (n > 1 && name !== 'help') throw new UsageError(`--${name} given more than once`);
  return { ...parsed, value: (name) => parsed.options.get(name)?.[0] };
}

/** No positional argument allowed: the first one is a usage error. */
export function noPositional(parsed: { positional: readonly string[] }): void {
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]}"`);
}

/** A whole number in [min, max], or a usage error naming the option. */
export function intOption(
  parsed: ParsedOptions,
  name: string,
  fallback: number,
  min: number,
  max: number,
  what: string,
): number {
  const v = parsed.value(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`--${name} must be ${what}, got "${v}"`);
  return n;
}

/**
 * The one usage-error style of every command: `hcb <command>: <message>`, a blank line and the
 * command's usage on stderr; exit status 2.
 */
export function usageFailure(
  stderr: { write(s: string): unknown },
  command: string,
  usage: string,
  message: string,
): number {
  stderr.write(`hcb ${command}: ${printable(message)}\n\n${usage}`);
  return 2;
}
