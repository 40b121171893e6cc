// Each unit test file gets its own temporary directory as os.tmpdir(), removed when the file's tests
// end. cdk8s' Testing.app() creates a directory under os.tmpdir() per app and never removes it:
// without this, every `npm test` left ~10,000 directories in /tmp. (Jest's sandboxed process.env does
// not reach Node's os module, so os.tmpdir itself is replaced for the file's duration.)
import * as fs from 'fs';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, not an ES namespace
const os = require('os') as { tmpdir: () => string };
const original = os.tmpdir;
const dir = fs.mkdtempSync(path.join(original(), 'hcb-unit-'));
os.tmpdir = () => dir;

afterAll(() => {
  os.tmpdir = original;
  fs.rmSync(dir, { recursive: true, force: true });
});
