/**
 * Plain text of a raw e-mail (headers + MIME body) for the `stdlib:spam` built-in: the Subject
 * header and the first text part of the body (text/plain preferred over text/html), with
 * quoted-printable / base64 and MIME encoded-words decoded, HTML tags dropped and whitespace
 * collapsed to single spaces. Good enough for a classification prompt; not a full MIME parser.
 */
export function mailToText(raw: string, maxChars: number): string {
  const { headers, body } = splitMessage(raw.replace(/\r\n?/g, '\n'));
  const subject = collapse(decodeWords(headers.get('subject') ?? ''));
  const text = collapse(bodyText(headers, body, 0));
  const joined = subject && text ? `Subject: ${subject} | ${text}` : subject ? `Subject: ${subject}` : text;
  return truncateAtWord(joined, maxChars);
}

/** Cuts `text` to at most `max` characters, at the last space when one is in the last fifth. */
export function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return (space > max * 0.8 ? cut.slice(0, space) : cut).trimEnd();
}

function splitMessage(message: string): { headers: Map<string, string>; body: string } {
  const end = message.indexOf('\n\n');
  const head = end === -1 ? message : message.slice(0, end);
  const body = end === -1 ? '' : message.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function bodyText(headers: Map<string, string>, body: string, depth: number): string {
  const contentType = headers.get('content-type') ?? 'text/plain';
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type.startsWith('multipart/') && depth < 5) {
    const boundary = param(contentType, 'boundary');
    if (!boundary) return '';
    const parts = body
      .split(`--${boundary}`)
      .slice(1)
      .filter((p) => !p.startsWith('--'))
      .map((p) => splitMessage(p.replace(/^\n/, '')));
    const typeOf = (p: { headers: Map<string, string> }) => (p.headers.get('content-type') ?? 'text/plain').split(';')[0].trim().toLowerCase();
    for (const wanted of ['text/plain', 'multipart/', 'text/html']) {
      for (const p of parts) {
        if (!typeOf(p).startsWith(wanted)) continue;
        const text = bodyText(p.headers, p.body, depth + 1);
        if (text.trim()) return text;
      }
    }
    return '';
  }
  if (type !== '' && !type.startsWith('text/')) return '';
  const charset = param(contentType, 'charset') ?? 'latin1';
  const encoding = (headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  let text: string;
  if (encoding === 'base64') text = decodeBytes(Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'), charset);
  else if (encoding === 'quoted-printable') text = decodeBytes(quotedPrintable(body), charset);
  else text = body;
  return type === 'text/html' || /^\s*<(!doctype|html|body|head|table|div|p)\b/i.test(text) ? htmlToText(text) : text;
}

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header);
  return m ? (m[1] ?? m[2]) : undefined;
}

function quotedPrintable(s: string): Uint8Array {
  const joined = s.replace(/=\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const c = joined.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      out.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(c & 0xff);
    }
  }
  return Uint8Array.from(out);
}

function decodeBytes(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

/** RFC 2047 encoded-words: `=?charset?Q?...?=` and `=?charset?B?...?=`. */
function decodeWords(s: string): string {
  // Whitespace between two adjacent encoded-words is not part of the text.
  return s
    .replace(/(\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, charset: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? decodeBytes(Buffer.from(data, 'base64'), charset) : decodeBytes(quotedPrintable(data.replace(/_/g, ' ')), charset),
    );
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™' };

function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
