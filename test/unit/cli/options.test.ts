// One option parser for every command (cli/options.ts): an unknown option, a missing value and a
// repeated option are usage errors with the same wording, printed as `hcb <command>: <message>`
// followed by the command's usage, exit 2; `hcb help <command>` is `hcb <command> --help`.
import { main } from '../../../cli/main';
import { COMMANDS } from '../../../cli/commands';
import { parseOptions, UsageError } from '../../../cli/options';

jest.setTimeout(120_000);

async function hcb(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('parseOptions', () => {
  const spec = {
    values: ['out', 'namespace'],
    flags: ['help', 'local'],
    short: { h: 'help' },
    repeatable: ['namespace'],
  };
  const message = (args: string[]) => {
    try {
      parseOptions(args, spec);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
  };
  test('values, --name=value, repeatable options, flags and -- ', () => {
    const p = parseOptions(['--out', 'a', '--namespace=x', '--namespace', 'y', '--local', '--', '--out'], spec);
    expect([p.value('out'), p.options.get('namespace'), p.flags.has('local'), p.positional]).toEqual([
      'a',
      ['x', 'y'],
      true,
      ['--out'],
    ]);
  });
  test('the errors', () => {
    expect(message(['--bogus'])).toBe('unknown option --bogus');
    expect(message(['--out'])).toBe('option --out needs a value');
    expect(message(['--out', 'a', '--out=b'])).toBe('--out given more than once');
    expect(message(['--local', '--local'])).toBe('--local given more than once');
    expect(message(['--local=yes'])).toBe('option --local takes no value');
    expect(message(['-h', '--help'])).toBeUndefined();
  });
});

// Per command: arguments before the options (an action), then one of each bad kind.
const CASES: Array<{ command: string; before: string[]; value: string; flag?: string }> = [
  { command: 'synth', before: [], value: '--out', flag: '--local' },
  { command: 'verify', before: [], value: '--state-dir' },
  { command: 'cluster', before: ['status'], value: '--state-dir', flag: '--json' },
  { command: 'backup', before: ['list'], value: '--dir', flag: '--json' },
  { command: 'controls', before: [], value: '--format' },
  { command: 'audit', before: ['x.yaml'], value: '--output' },
  { command: 'report', before: [], value: '--base' },
];

describe.each(CASES)('hcb $command', ({ command, before, value, flag }) => {
  const usage = async () => (await hcb(command, '--help')).out;
  const expectUsageError = async (args: string[], text: string) => {
    const r = await hcb(command, ...before, ...args);
    expect({ code: r.code, out: r.out }).toEqual({ code: 2, out: '' });
    expect(r.err).toBe(`hcb ${command}: ${text}\n\n${await usage()}`);
  };
  test('an unknown option', async () => {
    await expectUsageError(['--frobnicate'], 'unknown option --frobnicate');
  });
  test('a missing value', async () => {
    await expectUsageError([value], `option ${value} needs a value`);
  });
  test('a repeated option', async () => {
    await expectUsageError([value, 'a', `${value}=b`], `${value} given more than once`);
    if (flag) await expectUsageError([flag, flag], `${flag} given more than once`);
  });
  test('hcb help <command> equals <command> --help', async () => {
    const viaFlag = await hcb(command, '--help');
    expect(viaFlag.code).toBe(0);
    expect(await hcb('help', command)).toEqual(viaFlag);
  });
});

test('every command is covered here', () => {
  expect(COMMANDS.map((c) => c.name).sort()).toEqual(CASES.map((c) => c.command).sort());
});
