/** Reads the per-control fixtures under test/fixtures/controls/<control-id>/{pass,fail}/*.yaml. */
import * as fs from 'fs';
import * as path from 'path';
import { parseText } from '../../../policies/input/parse';
import { Document } from '../../../policies/model';

export const FIXTURES = path.resolve(__dirname, '../../fixtures/controls');

export function fixtureFiles(controlId: string, kind: 'pass' | 'fail'): string[] {
  const dir = path.join(FIXTURES, controlId, kind);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function loadFixture(file: string): Document[] {
  const rel = path.relative(path.resolve(__dirname, '../../..'), file).split(path.sep).join('/');
  const parsed = parseText(fs.readFileSync(file, 'utf8'), rel);
  if (parsed.errors.length > 0) throw new Error(`${rel}: ${parsed.errors.map((e) => e.message).join('; ')}`);
  return parsed.documents;
}
