/**
 * Command lines read the way the components parse them, and container commands that start the
 * component through a shell (`sh -c "exec kube-apiserver --flag…"`).
 *
 * Kubernetes components (spf13/pflag, interspersed): `--name=value`; `--name value` unless the
 * flag is a boolean (a bare boolean flag is true and the next word is NOT its value); `--` ends
 * the flags; any word that is not a flag is a positional argument, which kube-apiserver,
 * kube-controller-manager and kube-scheduler refuse ("does not take any arguments"); a single
 * dash introduces shorthand letters, so `-profiling=false` is not the --profiling flag.
 * etcd (Go flag package): `-name` and `--name` are the same; parsing stops at the first word that
 * is not a flag, and etcd refuses leftover arguments.
 */
import { ComponentName } from '../control';
import { COMPONENT_FLAGS, isBoolFlag } from './table';

export interface ParsedCommandLine {
  /** Flags in command-line order, names as written (not yet normalized). */
  flags: Array<[string, string]>;
  /** Why the component would refuse this command line (it does not start), if it would. */
  problems: string[];
}

/**
 * Flags of a component's command line (the words after the binary). Unknown flags take the next
 * word as their value unless it starts with a dash (a flag not in the table may be a boolean;
 * no check reads such a flag).
 */
export function parseComponentCommandLine(component: ComponentName, words: readonly string[]): ParsedCommandLine {
  const flags: Array<[string, string]> = [];
  const problems: string[] = [];
  const goFlag = component === 'etcd';
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '--') {
      if (i + 1 < words.length)
        problems.push(
          `arguments after "--" (${words.slice(i + 1).join(' ')}) are not flags, and ${component} takes no arguments`,
        );
      break;
    }
    if (!w.startsWith('-') || w === '-') {
      problems.push(`"${w}" is not a flag, and ${component} takes no arguments (it would not start)`);
      if (goFlag) break; // Go's flag package stops at the first non-flag word.
      continue;
    }
    let body: string;
    if (w.startsWith('--')) body = w.slice(2);
    else if (goFlag) body = w.slice(1);
    else {
      // pflag reads "-abc" as shorthand letters; only -v (klog verbosity) is registered by these components.
      if (!/^-v(=|$)/.test(w))
        problems.push(
          `"${w}" has a single dash: pflag reads it as shorthand letters, not as a long flag (the component would not start)`,
        );
      if (w === '-v' && i + 1 < words.length) i++;
      continue;
    }
    if (body === '' || body.startsWith('-') || body.startsWith('=')) {
      problems.push(`"${w}" is not valid flag syntax`);
      continue;
    }
    const eq = body.indexOf('=');
    if (eq >= 0) {
      flags.push([body.slice(0, eq), body.slice(eq + 1)]);
      continue;
    }
    const name = body;
    const normalized = goFlag ? name : name.replace(/_/g, '-');
    if (isBoolFlag(component, normalized)) {
      flags.push([name, 'true']);
    } else if (i + 1 < words.length && (!words[i + 1].startsWith('-') || knownValueFlag(component, normalized))) {
      flags.push([name, words[i + 1]]);
      i++;
    } else if (i + 1 >= words.length && knownValueFlag(component, normalized)) {
      problems.push(`--${name} needs a value (the component would not start)`);
    } else {
      flags.push([name, 'true']);
    }
  }
  return { flags, problems };
}

/** Flags in the table that take a value: pflag gives them the next word even when it starts with a dash. */
function knownValueFlag(component: ComponentName, name: string): boolean {
  const spec = COMPONENT_FLAGS[component][name];
  return spec !== undefined && spec.type !== 'bool';
}

/**
 * Words of a POSIX shell command the way `sh -c` splits it, for the plain cases: words separated
 * by blanks, single quotes, double quotes (with \\ escapes of $ ` " \\ and newline), backslash
 * escapes, and line continuations. Anything whose words depend on the shell at run time
 * (expansions, substitutions, several commands, redirections, globbing) makes it unreadable:
 * `{ unreadable: reason }`.
 */
export function shellWords(script: string): { words: string[] } | { unreadable: string } {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  const s = script.replace(/\\\n/g, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return { unreadable: 'an unterminated single quote' };
      cur += s.slice(i + 1, end);
      inWord = true;
      i = end;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '$' || s[j] === '`')
          return {
            unreadable: `a ${s[j] === '$' ? 'variable or command' : 'command'} substitution inside double quotes`,
          };
        if (s[j] === '\\' && j + 1 < s.length && '$`"\\'.includes(s[j + 1])) {
          cur += s[j + 1];
          j++;
          continue;
        }
        cur += s[j];
      }
      if (j >= s.length) return { unreadable: 'an unterminated double quote' };
      inWord = true;
      i = j;
      continue;
    }
    if (c === '\\') {
      if (i + 1 < s.length) cur += s[++i];
      inWord = true;
      continue;
    }
    if (c === '$' || c === '`')
      return { unreadable: 'a variable or command substitution, whose value is known only at run time' };
    if (';&|<>()'.includes(c))
      return { unreadable: `the shell operator "${c}" (several commands, a pipe or a redirection)` };
    if ('*?['.includes(c)) return { unreadable: `the glob character "${c}"` };
    if (c === '#' && !inWord) break; // a comment to the end of the line
    if (c === '~' && !inWord) return { unreadable: 'a tilde expansion' };
    cur += c;
    inWord = true;
  }
  if (inWord) words.push(cur);
  return { words };
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'busybox']);

/**
 * The argv a container runs, with a shell wrapper resolved: `[sh, -c, script, …]` becomes the
 * words of the script, after `exec` and leading `NAME=value` assignments (returned as `env`, they
 * matter to etcd). `unreadable` with a reason when the script cannot be read without running it;
 * `binaryHint` then names the component the script seems to start.
 */
export function containerArgv(
  argv: readonly string[],
): { argv: string[]; env: Array<[string, string]>; shell: boolean } | { unreadable: string; binaryHint?: string } {
  if (argv.length === 0) return { argv: [], env: [], shell: false };
  let binary = argv[0].split('/').pop() as string;
  let rest = argv.slice(1);
  if (binary === 'busybox' && rest.length > 0 && SHELLS.has(rest[0])) {
    binary = rest[0];
    rest = rest.slice(1);
  }
  if (!SHELLS.has(binary) || binary === 'busybox') return { argv: [...argv], env: [], shell: false };
  // Shell options before the script: -c may be combined with others (e.g. "-ec").
  let i = 0;
  let hasC = false;
  for (; i < rest.length && rest[i].startsWith('-') && rest[i] !== '--'; i++) {
    if (rest[i].slice(1).includes('c')) {
      hasC = true;
      i++;
      break;
    }
  }
  if (!hasC || i >= rest.length) return { argv: [...argv], env: [], shell: false }; // a script file or stdin: not read here
  const script = rest[i];
  const hint = /(?:^|[\s/;&|(])(kube-apiserver|kube-controller-manager|kube-scheduler|etcd)(?=$|[\s;&|)])/.exec(
    script,
  )?.[1];
  const parsed = shellWords(script);
  if ('unreadable' in parsed) {
    const reason = `the container starts it through a shell script with ${parsed.unreadable}, so its flags are known only at run time`;
    return hint ? { unreadable: reason, binaryHint: hint } : { unreadable: reason };
  }
  let words = parsed.words;
  const env: Array<[string, string]> = [];
  while (words.length > 0 && (words[0] === 'exec' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]))) {
    if (words[0] !== 'exec') {
      const eq = words[0].indexOf('=');
      env.push([words[0].slice(0, eq), words[0].slice(eq + 1)]);
    }
    words = words.slice(1);
  }
  return { argv: words, env, shell: true };
}
