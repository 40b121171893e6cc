/**
 * Snapshot of what package users can import (see public-api.ts). A failing snapshot means the public
 * API changed: review the diff like any API change (is it intended? is it breaking?), then update
 * with `npx jest test/unit/api -u`.
 */
import { describeEntryPoint, ENTRY_POINTS } from './public-api';

describe('public API', () => {
  for (const [entry, file] of Object.entries(ENTRY_POINTS)) {
    it(`${entry} (${file})`, () => {
      expect(describeEntryPoint(file)).toMatchSnapshot();
    }, 120_000);
  }
});
