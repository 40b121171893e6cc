/**
 * Every automated control has pass and fail fixtures: the pass ones must give only 'pass' for the
 * control, the fail ones at least one 'fail'. The fixture folders are named after control ids.
 */
import * as fs from 'fs';
import { CATALOGUE } from '../../../policies/catalogue';
import { evaluate } from '../../../policies/engine';
import { compareExpectations, parseExpectations } from './fixture-expectations';
import { FIXTURES, fixtureFiles, loadFixture } from './fixture-loader';

const automated = CATALOGUE.filter((c) => c.automation === 'automated');
const NOW = new Date('2026-01-15T12:00:00Z');

describe('per-control fixtures', () => {
  it('has a fixture folder for every automated control and none for unknown controls', () => {
    const missing = automated
      .filter((c) => fixtureFiles(c.id, 'pass').length === 0 || fixtureFiles(c.id, 'fail').length === 0)
      .map((c) => c.id);
    expect(missing).toEqual([]);
    const known = new Set(CATALOGUE.map((c) => c.id));
    const stray = fs.readdirSync(FIXTURES).filter((d) => !known.has(d));
    expect(stray).toEqual([]);
  });

  for (const control of automated) {
    describe(control.id, () => {
      for (const file of fixtureFiles(control.id, 'pass')) {
        it(`passes ${file.split('/').slice(-2).join('/')}`, () => {
          const findings = evaluate(loadFixture(file), { controls: [control], now: NOW });
          expect(findings.length).toBeGreaterThan(0);
          const notPass = findings.filter((f) => f.status !== 'pass');
          expect(notPass).toEqual([]);
          expect(compareExpectations(parseExpectations(fs.readFileSync(file, 'utf8'), file), findings)).toEqual([]);
        });
      }
      for (const file of fixtureFiles(control.id, 'fail')) {
        it(`fails ${file.split('/').slice(-2).join('/')}`, () => {
          const findings = evaluate(loadFixture(file), { controls: [control], now: NOW });
          const fails = findings.filter((f) => f.status === 'fail');
          expect(fails.length).toBeGreaterThan(0);
          for (const f of fails) expect(f.message.length).toBeGreaterThan(10);
          const expectations = parseExpectations(fs.readFileSync(file, 'utf8'), file);
          // A fail fixture says which object fails with which message; anything else is a defect.
          expect(expectations.filter((e) => e.status === 'fail').length).toBeGreaterThan(0);
          expect(compareExpectations(expectations, findings)).toEqual([]);
        });
      }
    });
  }
});
