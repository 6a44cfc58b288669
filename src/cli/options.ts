import { parseArgs } from 'node:util';
import { UserError } from '../core/errors';
import { cliHelp, cliParseOptions, optionsFromFlags, type CheckedOptions, type CommandName } from '../core/experiment/spec';
import type { RunPorts } from '../core/experiment/useCases';
import { defaultCacheDir } from '../runtime/embedded/embeddedModel';
import type { LoadOptions } from '../runtime/loadModel';

/** Progress and notes go to stderr so that stdout stays clean for --json. */
export const stderrLog = (message: string) => process.stderr.write(`${message}\n`);

/** Thrown for `--help`: the caller prints the text and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super(text);
  }
}

/**
 * A spec command's flags, parsed and checked by the experiment spec (the flags, their checks and the
 * help all come from its table); `--help` prints the generated help.
 */
export function parseCommand(
  cliName: string,
  command: CommandName,
  summary: string,
  argv: string[],
  allowPositionals = false,
): { options: CheckedOptions; positionals: string[] } {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(cliHelp(cliName, command, summary));
  const { values, positionals } = parseArgs({ args: argv, options: cliParseOptions(command), allowPositionals, strict: true });
  return { options: optionsFromFlags(command, values), positionals };
}

/** The runtime's load options of checked model fields. */
export function loadOptionsOf(o: CheckedOptions, log: (m: string) => void): LoadOptions {
  return {
    model: o.model ?? 'default',
    device: o.device ?? 'cpu',
    dtype: o.dtype === 'auto' ? undefined : o.dtype,
    offline: o.offline === true || process.env.HF_HUB_OFFLINE === '1',
    site: o.sitePattern || undefined,
    tokenizer: o.tokenizer ?? 'auto',
    threads: o.threads,
    cacheDir: typeof o.cacheDir === 'string' ? o.cacheDir : defaultCacheDir(),
    log,
  };
}

/** Progress on stderr (stdout stays clean for --json): a live line on a terminal, the final count otherwise. */
export function progressLine(label: string): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && (!process.stderr.isTTY || now - last < 500)) return;
    last = now;
    process.stderr.write(`${label}: ${done}/${total}${done === total ? '\n' : '\r'}`);
  };
}

/** The use cases' ports on a terminal: lines and warnings on stderr, each phase its own progress line. */
export function cliPorts(label: string): RunPorts {
  let progress = progressLine(label);
  return {
    log: stderrLog,
    warn: (m) => stderrLog(`warning: ${m}`),
    phase: (m) => (progress = progressLine(m)),
    progress: (done, total) => progress(done, total),
  };
}

/** A path option as the CLI takes it (a string; URIs come only from the extension). */
export function pathOf(value: CheckedOptions['out'], flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UserError(`--${flag} takes a path`);
  return value;
}
