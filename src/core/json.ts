import { UserError, type Location } from './errors';

/**
 * JSON.parse for user files: a syntax error names the line and column, and an object with the same
 * key twice is refused (JSON.parse keeps the last one silently; another reader may keep the first).
 */
export function parseJson(text: string, where: Location = {}): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    const offset = at ? Number(at[1]) : undefined;
    const pos = offset === undefined ? '' : ` at ${lineColumn(text, offset)}`;
    const reason = (e as Error).message.replace(/ in JSON at position \d+.*$/s, '').replace(/^JSON\.parse: /, '');
    throw new UserError(`not valid JSON${pos}: ${reason}`, where);
  }
  const dup = duplicateKey(text);
  if (dup) {
    throw new UserError(`the key ${JSON.stringify(dup.key)} appears twice in one object (again at ${lineColumn(text, dup.offset)})`, {
      ...where,
      field: where.field ?? dup.key,
    });
  }
  return value;
}

function lineColumn(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${offset - start + 1}`;
}

/** The first key repeated within one object of already valid JSON text, with the offset of its repeat. */
function duplicateKey(text: string): { key: string; offset: number } | undefined {
  // One frame per open container: the keys seen (objects) or null (arrays), and whether a key comes next.
  const keys: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      keys.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      keys.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      keys.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = keys[keys.length - 1] instanceof Set;
    } else if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c /* \ */) {
          escaped = true;
          i++;
        }
      }
      const seen = keys[keys.length - 1];
      if (expectKey && seen) {
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
        if (seen.has(key)) return { key, offset: start };
        seen.add(key);
        expectKey = false;
      }
    }
  }
  return undefined;
}
