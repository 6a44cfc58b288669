import { UserError } from '../core/errors';
import { generate } from '../core/generate';
import { SEED_RANGE } from '../core/experiment/spec';
import { loadModel } from '../runtime/loadModel';
import { checkPromptIds } from '../runtime/requestValidation';
import { MissingTokenizer, promptBos } from '../runtime/tokenizer/loadTokenizer';
import { pollInterruption } from '../node/interrupt';
import { MODEL_OPTIONS, loadOptions, num, parse } from './modelFlags';
import { stderrLog } from './options';

export async function generateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      ...MODEL_OPTIONS,
      'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      ids: { type: 'string' },
    },
    true,
  );
  const promptIds = values.ids === undefined ? undefined : parseIds(values.ids);
  if (promptIds ? positionals.length !== 0 : positionals.length !== 1) {
    throw new UserError('generate takes exactly one prompt, e.g. iv generate "Once upon a time", or token ids with --ids 1,2,3');
  }
  const prompt = positionals[0] ?? '';
  if (!promptIds && prompt.trim() === '') throw new UserError('the prompt is empty');
  const maxNewTokens = num(values, 'max-new-tokens', 128, { min: 1, max: 1 << 20, integer: true });
  const sampling = {
    temperature: num(values, 'temperature', 0, { min: 0, max: 100 }),
    topP: num(values, 'top-p', 1, { min: Number.MIN_VALUE, max: 1 }),
    seed: num(values, 'seed', 42, SEED_RANGE),
  };

  const { model, tokenizer } = await loadModel(loadOptions(values, stderrLog));
  try {
    const ids = promptIds ?? tokenizer.encode(prompt, { bos: promptBos(tokenizer) });
    // On token ids, text is shown only when the model has a tokenizer.
    const text = promptIds && tokenizer instanceof MissingTokenizer ? undefined : tokenizer;
    checkPromptIds(ids, model.info, text?.vocabSize);
    const room = model.info.maxSeqLen - ids.length;
    if (room < 1) throw new UserError(`the prompt has ${ids.length} tokens; ${model.info.name} has a context of ${model.info.maxSeqLen}`);
    if (maxNewTokens > room) stderrLog(`note: ${model.info.name} has a context of ${model.info.maxSeqLen} tokens; generating at most ${room}.`);
    // Decoding continues from the prompt's last token, so that a leading space is kept.
    const stream = text ? text.streamDecoder(ids[ids.length - 1]) : { push: (id: number) => ` ${id}`, flush: () => '' };
    let out = '';
    if (!values.json) process.stdout.write(promptIds ? (text ? text.decode(promptIds) : promptIds.join(' ')) : prompt);
    const result = await generate(model, ids, {
      maxNewTokens: Math.min(maxNewTokens, room),
      ...sampling,
      // Ctrl-C stops after the current token.
      cancellation: pollInterruption(),
      onToken: (id) => {
        const piece = stream.push(id);
        out += piece;
        if (!values.json) process.stdout.write(piece);
      },
    });
    const tail = stream.flush();
    out += tail;
    if (values.json) {
      const timings = { ...result.timings, executionProvider: model.executionProvider };
      const body = {
        prompt: promptIds ? undefined : prompt,
        text: text ? out : undefined,
        tokens: result.tokens,
        promptTokens: ids,
        stopReason: result.stopReason,
        sampling,
        model: model.info.name,
        timings,
      };
      process.stdout.write(`${JSON.stringify(body)}\n`);
    } else {
      process.stdout.write(`${tail}\n`);
      stderrLog(
        `[${result.tokens.length} tokens, prefill ${result.timings.prefillMs.toFixed(1)} ms, ${result.timings.decodeTokensPerSecond.toFixed(0)} tokens/s, ${model.executionProvider}]`,
      );
    }
  } finally {
    await model.dispose();
  }
}

/** `--ids 1,2,3`: a prompt as token ids. */
function parseIds(raw: string): number[] {
  const ids = raw.split(',').map((s) => s.trim());
  const bad = ids.find((s) => !/^\d+$/.test(s));
  if (bad !== undefined || ids.length === 0) throw new UserError(`--ids takes comma-separated token ids, e.g. --ids 1,2,3; "${bad}" is not one`);
  return ids.map(Number);
}
