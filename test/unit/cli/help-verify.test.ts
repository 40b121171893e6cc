// `hcb help <command>` is `hcb <command> --help` for every command; `hcb verify` exits 1 exactly
// when its report shows a failing finding (what it expected and did not observe included), so it
// never prints "No failures." and exits 1.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../../cli/main';
import { COMMANDS } from '../../../cli/commands';
import { NOT_OBSERVED_CONTROL, notObservedFindings } from '../../../cli/commands/verify';
import { renderJson, renderTerminal, summarizeFindings } from '../../../policies/report';

jest.setTimeout(120_000);

/** Runs `hcb argv...` in-process; returns exit code and what went to stdout and stderr. */
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
    const code = await main(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('hcb help <command>', () => {
  test.each(COMMANDS.map((c) => c.name))(
    'hcb help %s prints what the command prints for --help, exit 0',
    async (name) => {
      const viaHelp = await hcb('help', name);
      const viaFlag = await hcb(name, '--help');
      expect(viaFlag.code).toBe(0);
      expect(viaFlag.out).toMatch(new RegExp(`^usage: hcb ${name}\\b`));
      expect(viaHelp).toEqual(viaFlag);
      expect(await hcb(name, '-h')).toEqual(viaFlag);
    },
  );

  test("hcb help alone lists every command and says how to get one command's help", async () => {
    const r = await hcb('help');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toContain(`  ${c.name}`);
    expect(r.out).toContain('hcb help <command>');
  });

  test('an unknown command, or two, is a usage error', async () => {
    const unknown = await hcb('help', 'audti');
    expect([unknown.code, unknown.out]).toEqual([2, '']);
    expect(unknown.err).toContain('unknown command "audti"');
    expect((await hcb('help', 'audit', 'verify')).code).toBe(2);
  });
});

/** Options named in text (`--x`), `--help` left out. */
const optionsIn = (text: string) =>
  new Set([...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]).filter((o) => o !== '--help'));

/** What `hcb <name> --help` names: the usage line(s) up to the first blank line and the indented option and action lines. */
async function helpOptions(name: string): Promise<string[]> {
  const help = (await hcb(name, '--help')).out;
  // `quoted` text names other programs' options (`pulumi config --json`).
  const usage = help.slice(0, help.indexOf('\n\n'));
  const indented = help
    .split('\n')
    .filter((l) => /^\s/.test(l))
    .join('\n');
  return [...new Set([...optionsIn(usage), ...optionsIn(indented.replace(/`[^`]*`/g, ''))])].sort();
}

describe('README "The CLI" synopsis and each command\'s --help name the same options', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The CLI'));
  const block = /```\n([\s\S]*?)```/.exec(section)![1];
  /** Synopsis lines per command (the indented description lines left out). */
  const synopses = new Map(
    block.split(/\n(?=hcb )/).map((e) => [
      /^hcb (\w+)/.exec(e)![1],
      e
        .split('\n')
        .filter((l) => !/^\s{20,}/.test(l))
        .join(' '),
    ]),
  );

  test('the README lists every command', () => {
    expect([...synopses.keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  test.each(COMMANDS.map((c) => c.name))('hcb %s', async (name) => {
    expect([...optionsIn(synopses.get(name) ?? '')].sort()).toEqual(await helpOptions(name));
  });
});

describe('docs/cli.md: one section per command, naming exactly the options of its --help', () => {
  const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/cli.md'), 'utf8');
  /** The text of each `## hcb <name>` section, `quoted` other programs' options left out. */
  const sections = new Map(
    [...doc.matchAll(/^## hcb (\w+)\n([\s\S]*?)(?=^## |(?![\s\S]))/gm)].map((m) => [m[1], m[2]]),
  );

  test('docs/cli.md has a section for every command and no other', () => {
    expect([...sections.keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  test.each(COMMANDS.map((c) => c.name))('hcb %s: synopsis and option table', async (name) => {
    const text = sections.get(name) ?? '';
    const synopsis = /```\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
    const table = text
      .split('\n')
      .filter((l) => /^\| `--/.test(l))
      .map((l) => l.split('|')[1])
      .join(' ');
    const help = await helpOptions(name);
    expect([...optionsIn(synopsis)].sort()).toEqual(help);
    // A command whose options are explained in a table explains every one of them there.
    if (table) expect([...optionsIn(table)].sort()).toEqual(help);
  });
});

describe('hcb verify: exit code and report agree', () => {
  let stateDir: string;
  beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-verify-'));
  });
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  test('nothing running: every component is a failing "not observed" finding, the report does not say "No failures.", exit 1', async () => {
    const r = await hcb('verify', '--state-dir', stateDir, '--format', 'json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    const notObserved = report.results.filter((f: { control: string }) => f.control === NOT_OBSERVED_CONTROL);
    expect(notObserved.map((f: { message: string }) => f.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('kube-apiserver is not running'),
        expect.stringContaining('etcd is not running'),
      ]),
    );
    for (const f of notObserved) expect(f.status).toBe('error');
    expect(r.err).toMatch(/hcb verify: \d+ failed, \d+ errors \(\d+ not observed\), .* → exit 1\n$/);
    expect(r.err).toContain('hcb verify: not observed: kube-apiserver is not running');
  });

  test('the terminal report of not-observed findings names them and ends with the failing count', () => {
    const findings = notObservedFindings(['kube-apiserver is not running'], '/x');
    const text = renderTerminal(findings, summarizeFindings(findings), {
      tool: { name: 'hcb' },
      inputs: ['live:/x'],
      controls: [],
      color: false,
    } as never);
    expect(text).not.toContain('No failures.');
    expect(text).toContain('1 failing finding (1 high).');
    expect(text).toContain('kube-apiserver is not running');
    expect(
      JSON.parse(
        renderJson(findings, summarizeFindings(findings), { tool: { name: 'hcb' }, inputs: [], controls: [] } as never),
      ).summary,
    ).toMatchObject({ byStatus: expect.objectContaining({ error: 1 }) });
  });
});
