import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Relative imports that leave a service for another deployable: spokes talk through the hub or RabbitMQ,
// and shared code lives in the kit, imported by its package name.
const OTHER_DEPLOYABLE = String.raw`^(\.\.?/)+(.*/)?(hub-orchestrator|spokes|packages|e2e|[a-z0-9-]+-service)(/|$)`;
const boundary = (message, allowedPackages) => ({
  'no-restricted-imports': ['error', {
    patterns: [
      { regex: OTHER_DEPLOYABLE, message },
      { group: ['@hubspoke/*', ...allowedPackages.map((name) => `!@hubspoke/${name}`)], message },
    ],
  }],
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tools/**', 'coverage/**', '**/*.tpl'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.tests.json', './packages/*/tsconfig.json', './hub-orchestrator/tsconfig.json', './spokes/*/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  { files: ['spokes/*/src/**/*.ts'], rules: boundary('A spoke imports only @hubspoke/kit, @hubspoke/contracts and its own files', ['kit', 'kit/*', 'contracts']) },
  { files: ['hub-orchestrator/src/**/*.ts'], rules: boundary('The hub imports only @hubspoke/kit, @hubspoke/contracts and its own files', ['kit', 'kit/*', 'contracts']) },
  { files: ['packages/*/src/**/*.ts'], rules: boundary('A shared package never imports a service', ['kit', 'kit/*', 'contracts']) },
);
