/**
 * Unit tests synthesize whole blueprints and run the catalogue over them: well under a second on an
 * idle machine, but several seconds on a loaded 2-core one. Jest's default of 5 s made those tests
 * fail on load, not on behaviour. Tests that need longer still set their own timeout.
 */
jest.setTimeout(30_000);
