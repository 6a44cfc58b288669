/** The extension's options objects, checked by the experiment spec (pure: unit-tested without VS Code). */
import { checkOptions, COMMAND_FIELDS, type CheckedOptions, type CommandName, type FieldName } from '../../core/experiment/spec';

/** A command's options object checked by the experiment spec; errors name the command by its id. */
export function checkCommandOptions(command: CommandName, raw: unknown): CheckedOptions {
  // A run takes how the model is loaded from the machine settings (Select Model); it overrides model, device and threads only.
  const allowed = command === 'selectModel' ? COMMAND_FIELDS[command] : COMMAND_FIELDS[command].filter((f) => !LOAD_SETTINGS.has(f));
  return checkOptions(command, raw, `iterativeVectors.${command}`, allowed);
}

const LOAD_SETTINGS: ReadonlySet<FieldName> = new Set(['dtype', 'offline', 'sitePattern', 'tokenizer']);
