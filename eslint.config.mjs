// ESLint (flat config): ESLint's and typescript-eslint's recommended rules over the TypeScript
// sources. `npm run lint`; scripts/test.sh runs it (with `npm run typecheck`) in the fast lane,
// before the toolchain and the e2e lane. Deliberate departures, each with its reason:
// - no-control-regex: off. The report writers and the terminal output escape control characters
//   on purpose, so their regular expressions name them.
// - @typescript-eslint/no-explicit-any: an error in the product (constructs, policies, cli, stacks),
//   off in tests and benchmarks, which poke at rendered objects of many shapes.
// - @typescript-eslint/no-unused-vars: names starting with `_` and rest siblings are intentional
//   (dropping a key from an object by destructuring).
// - no-useless-assignment: off. `let x = fallback; try { x = read() } catch {}` is the code's way of
//   reading /proc and files that may vanish; the rule flags the fallback although catch paths use it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', '**/node_modules/**', '.hcb/**', 'coverage/**', 'test/fixtures/**', 'tools/**', '**/*.js', '**/*.mjs', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-console': 'error',
      'no-control-regex': 'off',
      'no-useless-assignment': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
