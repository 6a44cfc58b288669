/** A prompt block of a document: lines [startLine, endLine] (inclusive) hold the prompt text. */
export interface PromptBlock {
  /** Line the block's lens sits on (the opening fence for a fenced block). */
  anchorLine: number;
  startLine: number;
  endLine: number;
  kind: 'paragraph' | 'fence';
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;

/**
 * Prompt blocks of a text: paragraphs (maximal runs of non-blank lines); in Markdown also fenced
 * code blocks (``` or ~~~, the content between the fences, blank lines included), whose lines are
 * not paragraphs. An unclosed fence runs to the end. Empty fenced blocks are left out.
 */
export function promptBlocks(lines: readonly string[], options: { markdown?: boolean; maxBlocks?: number } = {}): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  const max = options.maxBlocks ?? Infinity;
  let paragraphStart = -1;
  const endParagraph = (end: number) => {
    if (paragraphStart >= 0) blocks.push({ anchorLine: paragraphStart, startLine: paragraphStart, endLine: end, kind: 'paragraph' });
    paragraphStart = -1;
  };
  for (let i = 0; i < lines.length && blocks.length < max; i++) {
    const line = lines[i];
    const fence = options.markdown ? FENCE.exec(line) : null;
    if (fence) {
      endParagraph(i - 1);
      const marker = fence[1];
      let j = i + 1;
      while (j < lines.length && !new RegExp(`^\\s{0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`).test(lines[j])) j++;
      const hasContent = lines.slice(i + 1, j).some((l) => l.trim() !== '');
      if (j > i + 1 && hasContent) blocks.push({ anchorLine: i, startLine: i + 1, endLine: j - 1, kind: 'fence' });
      i = j;
      continue;
    }
    if (line.trim() === '') endParagraph(i - 1);
    else if (paragraphStart < 0) paragraphStart = i;
  }
  if (blocks.length < max) endParagraph(lines.length - 1);
  return blocks;
}

/** The block that contains `line` (for a fence, its fences too), if any. */
export function blockAt(blocks: readonly PromptBlock[], line: number): PromptBlock | undefined {
  return blocks.find((b) => line >= Math.min(b.anchorLine, b.startLine) && line <= b.endLine + (b.kind === 'fence' ? 1 : 0));
}
