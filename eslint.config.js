// @ts-check
/**
 * Lint rules that the compiler can't express. Workflow code is replayed by
 * Temporal and must be deterministic: it may import only the Temporal
 * workflow API, @menagerie/core (pure types and functions) and its own files;
 * anything else (Node built-ins, the activities, the database) only as types.
 * Temporal's own samples hold workflow files to the same rule.
 */
const tseslint = require('typescript-eslint');

/** Module specifiers workflow code may import as values. */
const WORKFLOW_IMPORTS = ['@temporalio/workflow', '@temporalio/common', '@menagerie/core'];

module.exports = tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.run/**'] },
  {
    files: ['libs/workflows/src/**/*.ts'],
    ignores: ['libs/workflows/src/**/*.spec.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // Anything but the allowed packages and files of this folder (no segment may climb out: `./../x`).
              regex: `^(?!((${WORKFLOW_IMPORTS.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})|\\./([\\w-][\\w.-]*/)*[\\w-][\\w.-]*)$)`,
              allowTypeImports: true,
              message: `workflow code must be deterministic: import only ${WORKFLOW_IMPORTS.join(', ')} and files of libs/workflows as values; anything else only with "import type"`,
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='require']", message: 'workflow code imports with import statements only' },
        { selector: 'ImportExpression', message: 'workflow code imports with static import statements only' },
      ],
    },
  },
);
