// Lint runs in `npm test`. Type-aware rules catch floating promises on the hot path.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    // protocols/ is pure wire-format code: no I/O, no config, no pipeline (STYLE §3.1).
    files: ['src/protocols/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:fs', 'node:net', 'node:http', 'undici', '**/config/*', '**/pipeline/*', '**/upstream/*'], message: 'protocols/ is pure: wire formats only.' },
      ] }],
    },
  },
  {
    // Lower layers never reach up into the pipeline, the app or the admin API.
    files: ['src/routing/**/*.ts', 'src/upstream/**/*.ts', 'src/providers/**/*.ts', 'src/config/**/*.ts', 'src/errors/**/*.ts', 'src/auth/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/pipeline/*', '**/pipeline/**', '**/app.js', '**/admin/*'], message: 'Lower layers must not import the pipeline, app or admin.' },
      ] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
