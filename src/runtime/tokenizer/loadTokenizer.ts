import { UserError } from '../../core/errors';
import type { Tokenizer } from '../../core/model';
import { ByteTokenizer, loadHubTokenizer } from './hubTokenizer';
import { loadLlama2cTokenizer } from './tokenizer';

/** A tokenizer that can also stream decoded text (generation). */
export interface TextTokenizer extends Tokenizer {
  /** The tokenizer's own BOS/EOS ids, where it names them. */
  readonly bosId?: number;
  readonly eosId?: number;
  /** Whether the model's own tokenizer starts a text with BOS (exported models: tokenizer_config / post-processor). */
  readonly addBosToken?: boolean;
  streamDecoder(prevToken?: number): { push(id: number): string; flush(): string };
}

/** Where a model's tokenizer comes from: plain data, so that another thread can load the same one. */
export type TokenizerSource =
  | { kind: 'llama2c'; bin: string; cacheDir: string }
  | { kind: 'hub'; folder: string }
  | { kind: 'bytes'; bosId?: number; eosId?: number }
  | { kind: 'none'; model: string };

export async function loadTokenizer(source: TokenizerSource): Promise<TextTokenizer> {
  switch (source.kind) {
    case 'llama2c':
      return loadLlama2cTokenizer(source.bin, source.cacheDir);
    case 'hub':
      return loadHubTokenizer(source.folder);
    case 'bytes':
      return new ByteTokenizer({ bosId: source.bosId, eosId: source.eosId });
    case 'none':
      return new MissingTokenizer(source.model);
  }
}

/**
 * Whether a free-text prompt starts with BOS: as the model's own tokenizer does it (an exported
 * model's add_bos_token or post-processor), always for llama2.c models (trained with it), and never
 * when the tokenizer has no BOS token.
 */
export function promptBos(tokenizer: Pick<TextTokenizer, 'bosId' | 'addBosToken'>): boolean {
  if (tokenizer.bosId === undefined) return false;
  return tokenizer.addBosToken ?? true;
}

/**
 * The tokenizer of a model folder that has none: the model still runs on token ids, and anything
 * that needs text stops with an error that says how to proceed.
 */
export class MissingTokenizer implements TextTokenizer {
  readonly vocabSize = 0;
  readonly sha256 = 'none';
  constructor(private readonly model: string) {}
  private fail(): never {
    throw new UserError(
      `${this.model} has no tokenizer.json: run it on token ids (iv generate --ids 1,2,3), or choose the byte tokenizer explicitly (--tokenizer bytes) for a byte-vocabulary model`,
    );
  }
  encode(): number[] {
    return this.fail();
  }
  decode(): string {
    return this.fail();
  }
  tokenText(): string {
    return this.fail();
  }
  streamDecoder(): never {
    return this.fail();
  }
}
