// @ts-check
import js from '@eslint/js'
import {defineConfig} from 'eslint/config'
import prettier from 'eslint-config-prettier/flat'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  {ignores: ['dist/', 'dist.next-*/', 'dist.prev-*/', 'coverage/', '.tools/', '.devctl/', 'schema/', 'presets/', 'test/fixtures/']},
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      // Every linted file is in tsconfig.json (JavaScript too, through allowJs), so every rule has types.
      parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname},
    },
    rules: {
      // Terminal control characters are what devctl strips from untrusted text and what the tests look for.
      'no-control-regex': 'off',
      // `async` without `await` is how steps, prompters and fakes meet a promise-returning interface (a throw becomes a rejection).
      '@typescript-eslint/require-await': 'off',
      // `const {secret: _, ...rest} = x` is how a key is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', {ignoreRestSiblings: true}],
      // As only-throw-error allows: an AbortSignal's reason and a caught error are passed on as they are.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', {allowThrowingAny: true, allowThrowingUnknown: true}],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    rules: {
      // typescript-eslint does not see JSDoc casts (typescript-eslint#4824), so JavaScript cannot type what JSON.parse or import() returns; params and variables carry JSDoc types.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['test/**'],
    rules: {
      // vitest's asymmetric matchers (expect.any, expect.stringMatching, ...) are typed `any` so they fit any field; the other no-unsafe-* rules still catch an `any` a test reads.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // Expected output is written as the tool prints it, column spaces included.
      'no-regex-spaces': 'off',
    },
  },
  prettier,
)
