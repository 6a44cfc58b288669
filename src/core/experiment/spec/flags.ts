/** The command-line face of the table: parseArgs' option config, flags -> checked options, and the help text, all generated. */
import { UserError } from '../../errors';
import { COMMAND_FIELDS, FIELDS, specFor, type CommandName, type FieldName } from './fields';
import { parseField, type CheckedOptions } from './parse';

/** The commands the CLI runs from the table, by their CLI names. */
export const CLI_COMMANDS = {
  extract: 'extract',
  eval: 'evaluate',
  sweep: 'sweep',
  compare: 'compare',
  rerun: 'rerun',
  'export-gguf': 'exportGguf',
} as const satisfies Record<string, CommandName>;
export type CliCommand = keyof typeof CLI_COMMANDS;

/** Model-running commands also take where the cache lives and whether to print JSON. */
const CLI_ONLY: readonly FieldName[] = ['cacheDir', 'json'];

export function cliFields(command: CommandName): FieldName[] {
  const fields = COMMAND_FIELDS[command].filter((f) => FIELDS[f].flag !== undefined);
  return command === 'exportGguf' ? [...fields, 'json'] : [...fields, ...CLI_ONLY];
}

/** parseArgs' `options`: booleans as flags, everything else as a string the table's parser checks. No defaults here: they come from the table. */
export function cliParseOptions(command: CommandName): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(cliFields(command).map((f) => [specFor(command, f).flag!, { type: FIELDS[f].kind === 'boolean' ? 'boolean' : 'string' }]));
}

/** parseArgs' values (keyed by flag) -> checked options; errors name the flag. */
export function optionsFromFlags(command: CommandName, values: Record<string, unknown>): CheckedOptions {
  const byFlag = new Map(cliFields(command).map((f) => [specFor(command, f).flag!, f]));
  const out: Record<string, unknown> = {};
  for (const [flag, raw] of Object.entries(values)) {
    const field = byFlag.get(flag);
    if (!field) throw new UserError(`--${flag} is not an option of ${command}`);
    if (raw !== undefined) out[field] = parseField(command, field, raw, 'flag');
  }
  return out as CheckedOptions;
}

function defaultText(value: unknown): string {
  if (value === undefined || value === false || value === '') return '';
  return ` (default ${Array.isArray(value) ? value.join(',') : String(value)})`;
}

function valueHint(command: CommandName, field: FieldName): string {
  const spec = specFor(command, field);
  switch (spec.kind) {
    case 'boolean':
      return '';
    case 'enum':
      return ` ${spec.values.join('|')}`;
    case 'int':
      return ' N';
    case 'number':
      return ' X';
    case 'numbers':
      return ' a,b,...';
    case 'mapping':
      return ' label=word,...';
    case 'list':
      return ' a,b,...';
    default:
      return ' <value>';
  }
}

/** `iv <command> --help`: every flag with its values, default and help, from the table. */
export function cliHelp(cliName: string, command: CommandName, summary: string): string {
  const lines = cliFields(command).map((f) => {
    const spec = specFor(command, f);
    return [`  --${spec.flag}${valueHint(command, f)}`, `${spec.title}${defaultText(spec.default)}`] as const;
  });
  const width = Math.min(40, Math.max(...lines.map(([a]) => a.length)) + 2);
  const body = lines.map(([a, b]) => (a.length + 2 > width ? `${a}\n${' '.repeat(width)}${b}` : `${a.padEnd(width)}${b}`));
  return `iv ${cliName}: ${summary}\n\nOptions:\n${body.join('\n')}\n`;
}
