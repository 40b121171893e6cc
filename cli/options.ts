/**
 * What every hcb command shares for its options and its IO: the option parser (--name value,
 * --name=value, repeated options, -- ends options), usage errors (exit 2 with the command's usage),
 * the IO seam tests run commands through, and the colour rule. Commands import these from here.
 */

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
export function oneOf<T extends string>(options: Map<string, string[]>, name: string, allowed: readonly T[], fallback: T): T {
  const values = options.get(name);
  if (!values) return fallback;
  const v = values[values.length - 1];
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
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
