// Builds the extension host bundle, the model worker, the headless CLI and the webview app.
import { chmodSync } from 'node:fs';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

// Node-side bundles share the runtime; onnxruntime-node ships native binaries and stays a real module.
const node = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node'],
};

// dist/cli.js is package.json's bin (`iv`): esbuild writes it without the run bit, and `npx iv` in
// this folder runs it directly, so every build (also --watch, also npm run package's) sets it.
const executable = {
  name: 'executable',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length === 0) chmodSync(build.initialOptions.outfile, 0o755);
    });
  },
};

const builds = [
  { ...node, entryPoints: ['src/host/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, plugins: [executable] },
  // The extension host runs the model in this worker: onnxruntime-node's run() is synchronous.
  { ...node, entryPoints: ['src/runtime/worker/modelWorker.ts'], outfile: 'dist/modelWorker.js' },
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
