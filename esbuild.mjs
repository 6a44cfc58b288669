// Builds the extension host bundle, the model worker, the headless CLI and the webview app.
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

const builds = [
  { ...node, entryPoints: ['src/host/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // The extension host runs the model in this worker: onnxruntime-node's run() is synchronous.
  { ...node, entryPoints: ['src/runtime/worker/modelWorker.ts'], outfile: 'dist/modelWorker.js' },
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
