// Type-aware linting: no-floating-promises matters most inside workflows,
// where a forgotten await silently changes what the history records.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', '.tools', '.converge', 'bench/results', 'coverage', 'bin', 'dist', 'scripts/*.mjs', 'examples/*.mjs', 'eslint.config.js', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: it may import only
    // the domain, the planner, pure libraries and @temporalio/workflow.
    files: ['src/workflows/**/*.ts', 'src/planner/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'os', 'child_process', 'http', 'https'], message: 'Workflow-reachable code must be pure: no Node built-ins.' },
            { group: ['**/activities/**', '**/cloud/**', '**/region/**', '**/client/**', '**/workers/**', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'Workflow-reachable code imports only domain, planner and @temporalio/workflow.' },
          ],
        },
      ],
    },
  },
);
