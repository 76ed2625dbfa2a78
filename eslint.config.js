// @ts-check
/**
 * The project's lint: typescript-eslint's recommended rules with type
 * information (promises must be awaited or handled), and two structural rules
 * the compiler can't express.
 *
 * - Boundaries. A package imports another only through its entry point
 *   (`@menagerie/db`, never `@menagerie/db/src/x` or `../../db/src/x`), only
 *   packages it declares in its package.json, and a lib never imports an app.
 * - Determinism. Workflow code is replayed by Temporal: it may import only the
 *   Temporal workflow API, @menagerie/core (pure types and functions) and its
 *   own files as values; anything else (Node built-ins, the activities, the
 *   database) only as types. Temporal's own samples hold workflow files to the
 *   same rule.
 */
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const tseslint = require('typescript-eslint');

/** Module specifiers workflow code may import as values. */
const WORKFLOW_IMPORTS = ['@temporalio/workflow', '@temporalio/common', '@menagerie/core'];
const escape = (s) => s.replace(/[/.]/g, '\\$&');

/** Each workspace package: its folder, and the @menagerie packages it declares. */
const packages = ['libs', 'apps'].flatMap((kind) =>
  readdirSync(join(__dirname, kind)).map((name) => {
    const manifest = JSON.parse(readFileSync(join(__dirname, kind, name, 'package.json'), 'utf8'));
    const declared = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
      .filter((d) => d.startsWith('@menagerie/'))
      .map((d) => d.slice('@menagerie/'.length));
    return { kind, name, declared };
  }),
);

/** The import patterns one package's sources may not use. */
function boundaryPatterns({ kind, name, declared }) {
  const allowed = [name, ...declared];
  return [
    {
      regex: '^@menagerie/[^/]+/.+',
      message:
        "import another package through its entry point (`@menagerie/<name>`), not its files; export what's needed from its index.ts",
    },
    {
      regex: `^@menagerie/(?!(${allowed.map(escape).join('|')})$)[^/]+$`,
      message: `${kind}/${name} may import only the packages its package.json declares (${declared.join(', ') || 'none'})${kind === 'libs' ? '; a lib never imports an app' : ''}`,
    },
    {
      regex: '^(\\.\\./)+((libs|apps|test|bench|scripts)/|[\\w-]+/src(/|$))',
      message: "a relative import may not leave its package's src; import the package by name",
    },
  ];
}

const workflowPattern = {
  // Anything but the allowed packages and files of this folder (no segment may climb out: `./../x`).
  regex: `^(?!((${WORKFLOW_IMPORTS.map(escape).join('|')})|\\./([\\w-][\\w.-]*/)*[\\w-][\\w.-]*)$)`,
  allowTypeImports: true,
  message: `workflow code must be deterministic: import only ${WORKFLOW_IMPORTS.join(', ')} and files of libs/workflows as values; anything else only with "import type"`,
};

module.exports = tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.run/**', 'data/**', 'test-artifacts/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: { parserOptions: { project: ['./test/tsconfig.json'], tsconfigRootDir: __dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  ...packages.map((pkg) => ({
    files: [`${pkg.kind}/${pkg.name}/src/**/*.ts`],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [...boundaryPatterns(pkg), ...(pkg.name === 'workflows' && pkg.kind === 'libs' ? [workflowPattern] : [])] },
      ],
    },
  })),
  {
    files: ['libs/workflows/src/**/*.ts'],
    ignores: ['libs/workflows/src/**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='require']", message: 'workflow code imports with import statements only' },
        { selector: 'ImportExpression', message: 'workflow code imports with static import statements only' },
      ],
    },
  },
  {
    // Tests read parsed YAML and, in the browser, DOM elements the Node typings don't describe.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
