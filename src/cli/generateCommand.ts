import { UserError } from '../core/errors';
import { generate } from '../core/generate';
import { loadModel } from '../runtime/loadModel';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';

export async function generateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { ...MODEL_OPTIONS, 'max-new-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-p': { type: 'string' }, seed: { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UserError('generate takes exactly one prompt, e.g. iv generate "Once upon a time"');
  const prompt = positionals[0];
  if (prompt.trim() === '') throw new UserError('the prompt is empty');
  const maxNewTokens = num(values, 'max-new-tokens', 128, { min: 1, max: 1 << 20, integer: true });
  const sampling = {
    temperature: num(values, 'temperature', 0, { min: 0, max: 100 }),
    topP: num(values, 'top-p', 1, { min: Number.MIN_VALUE, max: 1 }),
    seed: num(values, 'seed', 42, { integer: true }),
  };

  const { model, tokenizer } = await loadModel(loadOptions(values, stderrLog));
  try {
    const ids = tokenizer.encode(prompt, { bos: true });
    const room = model.info.maxSeqLen - ids.length;
    if (room < 1) throw new UserError(`the prompt has ${ids.length} tokens; ${model.info.name} has a context of ${model.info.maxSeqLen}`);
    if (maxNewTokens > room) stderrLog(`note: ${model.info.name} has a context of ${model.info.maxSeqLen} tokens; generating at most ${room}.`);
    // Decoding continues from the prompt's last token, so that a leading space is kept.
    const stream = tokenizer.streamDecoder(ids[ids.length - 1]);
    let text = '';
    if (!values.json) process.stdout.write(prompt);
    const result = await generate(model, ids, {
      maxNewTokens: Math.min(maxNewTokens, room),
      ...sampling,
      onToken: (id) => {
        const piece = stream.push(id);
        text += piece;
        if (!values.json) process.stdout.write(piece);
      },
    });
    const tail = stream.flush();
    text += tail;
    if (values.json) {
      const timings = { ...result.timings, executionProvider: model.executionProvider };
      process.stdout.write(`${JSON.stringify({ prompt, text, tokens: result.tokens, promptTokens: ids, stopReason: result.stopReason, sampling, model: model.info.name, timings })}\n`);
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
