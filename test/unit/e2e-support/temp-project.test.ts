/**
 * The e2e tests' temporary Pulumi project (test/e2e/support/env.ts tempProject): the program's
 * sources are a snapshot, so an edit of the working tree while an e2e test runs (other sessions
 * share it) cannot change the program between two `pulumi up`s of one test. With links, a
 * remediation text edited between pulumi-hosts' first and second up changed 11 admission policy
 * messages and failed "a second pulumi up changes nothing".
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROJECT_LINKED_DIRS, PROJECT_SOURCE_DIRS, REPO, tempProject } from '../../e2e/support/env';

function fakeRepo(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-repo-'));
  for (const f of ['Pulumi.yaml', 'tsconfig.json', 'package.json']) fs.writeFileSync(path.join(repo, f), `${f}\n`);
  for (const d of [...PROJECT_SOURCE_DIRS, ...PROJECT_LINKED_DIRS]) {
    fs.mkdirSync(path.join(repo, d, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(repo, d, 'sub', 'file.ts'), `export const v = '${d} v1';\n`);
  }
  return repo;
}

test('the program sources are copied; node_modules and tools are links', () => {
  const repo = fakeRepo();
  const project = tempProject(repo);
  for (const d of PROJECT_SOURCE_DIRS) {
    expect(fs.lstatSync(path.join(project, d)).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(path.join(project, d, 'sub', 'file.ts'), 'utf8')).toBe(`export const v = '${d} v1';\n`);
  }
  for (const d of PROJECT_LINKED_DIRS)
    expect(fs.realpathSync(path.join(project, d))).toBe(fs.realpathSync(path.join(repo, d)));
  for (const f of ['Pulumi.yaml', 'tsconfig.json', 'package.json'])
    expect(fs.readFileSync(path.join(project, f), 'utf8')).toBe(`${f}\n`);
});

test('an edit of the repository after the project was made does not reach the project', () => {
  const repo = fakeRepo();
  const project = tempProject(repo);
  for (const d of PROJECT_SOURCE_DIRS) {
    fs.writeFileSync(path.join(repo, d, 'sub', 'file.ts'), `export const v = '${d} v2';\n`);
    fs.writeFileSync(path.join(repo, d, 'added.ts'), 'export {};\n');
  }
  for (const d of PROJECT_SOURCE_DIRS) {
    expect(fs.readFileSync(path.join(project, d, 'sub', 'file.ts'), 'utf8')).toBe(`export const v = '${d} v1';\n`);
    expect(fs.existsSync(path.join(project, d, 'added.ts'))).toBe(false);
  }
});

test('the program finds what it looks up above itself: tools/hosts and tools/images through the link', () => {
  // stacks/hosts/backup.ts (hostToolsRoot) and stacks/local/node/images.ts look for tools/ above
  // their own directory, which in a temporary project is the project root.
  const project = tempProject(REPO);
  try {
    expect(fs.existsSync(path.join(project, 'stacks', 'index.ts'))).toBe(true);
    expect(fs.existsSync(path.join(project, 'tools', 'hosts', 'go.mod'))).toBe(true);
    expect(fs.existsSync(path.join(project, 'tools', 'images', 'go.mod'))).toBe(true);
    expect(fs.realpathSync(path.join(project, 'node_modules'))).toBe(fs.realpathSync(path.join(REPO, 'node_modules')));
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
});
