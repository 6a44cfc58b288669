// ESLint flat config: typescript-eslint's recommended rules (syntax only, not type-checked, so it stays fast)
// and the house's import boundaries (issue 10, item 7). Formatting is Prettier's job (.prettierrc.json).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------------------
// Import boundaries. One rule, @typescript-eslint/no-restricted-imports (it also sees `export ... from` and
// can let type-only imports through). Flat config does not merge a rule's options across config objects:
// the last object that matches a file wins. So each folder below lists every restriction that applies to it.
// Layers, bottom up: src/core (pure) < src/node (Node adapters of core's ports) < src/runtime (ONNX Runtime)
// < src/host (VS Code) | src/cli. src/protocol and webview/ sit beside them.
// Relative paths are matched as written (no resolver): '../runtime/x', '../../host/y', './cli/z'.
// Dynamic import() and require() are not checked; src/ has none today.
// ---------------------------------------------------------------------------------------------------------

/** A restriction on relative imports that reach into one of the top-level folders of src/. */
const into = (folders, message, extra = {}) => ({
  regex: `^\\.{1,2}/(?:.*/)?(?:${folders.join('|')})(?:/|$)`,
  message,
  ...extra,
});

const vscode = { regex: '^vscode$', message: 'Only src/host talks to VS Code.' };
const onnxRuntime = { regex: '^onnxruntime-(?:node|common)(?:/|$)', message: 'ONNX Runtime is used in src/runtime only.' };
const mlRuntimes = { regex: '^(?:onnxruntime-|@huggingface/)', message: 'src/core is model-runtime free: ONNX Runtime and Hugging Face live in src/runtime.' };
const nodeIo = {
  regex: '^(?:node:)?(?:fs|path|os|child_process)(?:/|$)',
  message: 'src/core does no file, path, OS or process work: take a port (files, log, progress) from the caller instead.',
};

const restrict = (...patterns) => ['error', { patterns }];

const boundaries = [
  {
    // Product code outside src/runtime (the folders below narrow it further).
    files: ['src/**', 'webview/**'],
    rules: { '@typescript-eslint/no-restricted-imports': restrict(onnxRuntime) },
  },
  {
    files: ['src/core/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        vscode,
        mlRuntimes,
        nodeIo,
        into(['runtime', 'host', 'cli', 'node'], 'src/core depends on nothing above it: not src/runtime, src/host, src/cli or src/node.'),
      ),
    },
  },
  {
    files: ['src/runtime/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        vscode,
        into(['host', 'cli'], 'src/runtime is shared by the extension and the CLI: it imports neither src/host nor src/cli.'),
      ),
    },
  },
  {
    // Node adapters of src/core's ports (files, datasets, results): below src/runtime, src/host and src/cli.
    files: ['src/node/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        onnxRuntime,
        vscode,
        into(['runtime', 'host', 'cli'], 'src/node adapts src/core to Node.js: it imports neither src/runtime, src/host nor src/cli.'),
      ),
    },
  },
  {
    files: ['src/cli/**', 'src/cli.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        onnxRuntime,
        { ...vscode, message: 'The CLI runs without VS Code.' },
        into(['host'], 'The CLI never imports src/host: move what both need into src/core (or src/runtime).'),
      ),
    },
  },
  {
    files: ['src/host/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        onnxRuntime,
        into(['cli'], 'src/host never imports src/cli: move what both need into src/core (or src/runtime).'),
      ),
    },
  },
  {
    // The webview protocol is a leaf: the host and the webview both import it. Types from src/core may pass (they
    // vanish from the bundle); nothing else from outside src/protocol, and no packages.
    files: ['src/protocol/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        { regex: '^\\.\\./core(?:/|$)', allowTypeImports: true, message: 'src/protocol may import types from src/core (`import type`), not values.' },
        { regex: '^\\.\\./(?!core(?:/|$))', message: 'src/protocol imports nothing outside src/protocol except types from src/core.' },
        { regex: '^[^.]', message: 'src/protocol imports no packages: the webview and the host both load it.' },
      ),
    },
  },
  {
    // webview/ is flat today: '../' leaves it. It may import its own files, src/protocol and chart.js.
    files: ['webview/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        { regex: '^\\.\\./(?!src/protocol(?:/|$))', message: 'webview/ imports only its own files, src/protocol and chart.js.' },
        { regex: '^(?!\\.|chart\\.js(?:/|$))', message: 'webview/ imports only its own files, src/protocol and chart.js.' },
      ),
    },
  },
];

export default tseslint.config(
  {
    ignores: ['dist/', 'out/', 'node_modules/', '.e2e/', '.iv/', '.iv-cache/', 'reference/', 'test/goldens/', 'test/e2e/artifacts/', 'test/e2e/fixtures/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      // Dead code: kept, with the usual escape hatch of a leading underscore.
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // The boundaries use the typescript-eslint version of this rule.
      'no-restricted-imports': 'off',
      // Best-effort cleanup (`try { rmSync(...) } catch {}`) is house style.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['webview/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The e2e test extension is plain CommonJS, loaded by VS Code's extension host.
    files: ['test/e2e/test-extension/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  ...boundaries,
);
