import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Which folder may import which (DESIGN.md "Layout"). Core no-restricted-imports with regular
// expressions over the import string: relative paths are matched by the folder they climb into,
// the workspaces by their package names. Every file gets ONE block, since a later block's options
// would replace an earlier one's; test/unit/import-boundaries.test.ts proves each is reported.
const climbsInto = (folders, via = '') => `^(\\.\\./)+${via}(${folders.join('|')})(/|\\.js$)`;
const NO_CLI = {
  // from src/ itself, or from bench/ through src/
  regex: climbsInto(['cli'], '(src/)?'),
  message: 'Nothing imports src/cli but the entry point: move what is shared out of src/cli.',
};
const NO_CLIENT = {
  regex: '^keyholder-client(/|$)',
  message: 'src/ imports the client package only from src/cli.',
};
const LOCK_ONLY = {
  regex: '^\\.\\./(?!errors\\.js$)',
  message: 'src/lock is pure: it imports only src/lock, src/errors.ts and keyholder-protocol.',
};
const STORE_NOT_ABOVE = {
  regex: climbsInto(['http', 'service']),
  message: 'src/store never imports src/http or src/service: data flows down, and comes back once.',
};
const CLIENT_NOT_SERVER = {
  regex: `${climbsInto(['src'])}|^keyholder$`,
  message:
    'client/ imports only keyholder-protocol, its own files and npm packages, never the server (src/).',
};
const DEPENDENCY_FREE = {
  regex: '^(?!\\./)',
  message: 'protocol/ is dependency-free: it imports only its own files.',
};
const boundary = (files, patterns, ignores = []) => ({
  files,
  ignores,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'ui/dist/',
      'client/dist/',
      'protocol/dist/',
      'coverage/',
      'data/',
      '.tmp/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  boundary(['src/**/*.ts'], [NO_CLI, NO_CLIENT], ['src/cli/**', 'src/lock/**', 'src/store/**']),
  boundary(['src/lock/**/*.ts'], [NO_CLI, NO_CLIENT, LOCK_ONLY]),
  boundary(['src/store/**/*.ts'], [NO_CLI, NO_CLIENT, STORE_NOT_ABOVE]),
  boundary(['bench/**/*.ts'], [NO_CLI]),
  boundary(['client/**/*.ts'], [CLIENT_NOT_SERVER]),
  boundary(['protocol/**/*.ts'], [DEPENDENCY_FREE]),
);
