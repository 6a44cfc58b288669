import { UserError } from '../errors';
import { RawTable } from './table';
import { DEFAULT_LABEL_FIELD, DEFAULT_TEXT_FIELDS, MAX_TEXT_CHARS } from './types';

/** A row after field selection, before labels become class indices. */
export interface RawExample {
  text: string;
  /** A label word (string) or a numeric class id (number). */
  label: string | number;
  line: number;
  file: string;
  /** The text was longer than MAX_TEXT_CHARS and was cut to it. */
  cut?: boolean;
}

/**
 * The text and label columns: the user's choice, checked against every table's columns, or the
 * defaults (text: the first of `DEFAULT_TEXT_FIELDS` present in the first table; label: `label`).
 */
export function chooseFields(tables: readonly RawTable[], textField?: string, labelField?: string): { textField: string; labelField: string } {
  const first = tables[0];
  let text = textField;
  if (text === undefined) {
    text = DEFAULT_TEXT_FIELDS.find((f) => first.columns.includes(f));
    if (text === undefined) {
      throw new UserError(
        `no text field: none of ${DEFAULT_TEXT_FIELDS.join(', ')} is present (fields: ${listColumns(first)}); choose one with the textField option`,
        { file: first.file, line: first.headerLine },
      );
    }
  }
  const label = labelField ?? DEFAULT_LABEL_FIELD;
  for (const table of tables) {
    for (const [field, option] of [
      [text, 'textField'],
      [label, 'labelField'],
    ] as const) {
      if (!table.columns.includes(field)) {
        throw new UserError(
          `missing ${option === 'textField' ? 'text' : 'label'} field "${field}" (fields: ${listColumns(table)}); choose another with the ${option} option`,
          {
            file: table.file,
            line: table.headerLine,
            field,
          },
        );
      }
    }
  }
  return { textField: text, labelField: label };
}

/**
 * Text (cut to MAX_TEXT_CHARS) and raw label of every row; a missing or empty text or label is a
 * UserError at its line.
 */
export function extractExamples(table: RawTable, textField: string, labelField: string): RawExample[] {
  return table.rows.map(({ line, values }) => {
    const where = { file: table.file, line };
    const rawText = values[textField];
    if (rawText === undefined || rawText === null) throw new UserError('missing text', { ...where, field: textField });
    let text: string;
    if (typeof rawText === 'string') text = rawText.trim();
    else if (typeof rawText === 'number' || typeof rawText === 'bigint') text = String(rawText);
    else throw new UserError(`the text must be a string, found ${describe(rawText)}`, { ...where, field: textField });
    if (text === '') throw new UserError('empty text', { ...where, field: textField });
    const label = rawLabel(values[labelField], { ...where, field: labelField });
    if (text.length <= MAX_TEXT_CHARS) return { text, label, line, file: table.file };
    return { text: cutText(text, MAX_TEXT_CHARS), label, line, file: table.file, cut: true };
  });
}

/** The first `max` characters of `text`, without half of a surrogate pair, trailing spaces dropped. */
function cutText(text: string, max: number): string {
  const high = text.charCodeAt(max - 1);
  return text.slice(0, high >= 0xd800 && high <= 0xdbff ? max - 1 : max).trimEnd();
}

function rawLabel(value: unknown, where: { file: string; line: number; field: string }): string | number {
  if (value === undefined || value === null) throw new UserError('missing label', where);
  if (typeof value === 'string') {
    const word = value.trim();
    if (word === '') throw new UserError('missing label (empty)', where);
    return word;
  }
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new UserError(`a numeric label must be an integer class id, found ${value}`, where);
    return value;
  }
  if (typeof value === 'boolean') return String(value);
  throw new UserError(`the label must be a string or an integer class id, found ${describe(value)}`, where);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary data';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function listColumns(table: RawTable): string {
  return table.columns.length > 0 ? table.columns.map((c) => JSON.stringify(c)).join(', ') : 'none';
}
