import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CliIo } from '../../../cli/commands/audit';

export interface FakeIo extends CliIo {
  out: () => string;
  errText: () => string;
}

/** In-memory standard streams, a fixed clock and a working directory of our own. */
export function fakeIo(
  cwd: string,
  opts: { tty?: boolean; env?: Record<string, string>; stdin?: string } = {},
): FakeIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => (err += s) },
    env: opts.env ?? {},
    cwd,
    readStdin: async () => opts.stdin ?? '',
    clock: () => new Date('2025-06-30T12:00:00Z'),
    out: () => out,
    errText: () => err,
  };
}

export async function tempTree(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcb-cli-'));
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  return dir;
}
