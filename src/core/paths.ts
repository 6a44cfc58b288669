/**
 * File names from paths, as plain string functions (like Node.js path.basename and extname), so
 * the core can name files whatever storage they are on: OS paths with `/` or `\`, URI paths.
 */

/** The last part of a path (trailing separators ignored), without `ext` when it ends with it. */
export function baseName(path: string, ext?: string): string {
  const trimmed = path.replace(/[\\/]+$/, '');
  const name = trimmed.slice(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1);
  return ext && name !== ext && name.endsWith(ext) ? name.slice(0, -ext.length) : name;
}

/** The last part's extension from its last dot (`.json`); '' when none, or when its only dot starts it (`.env`). */
export function extName(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot);
}
