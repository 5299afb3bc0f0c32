/**
 * Edits by position in a file's own text, so everything around them — comments, quoting, flow style,
 * blank lines, whatever others changed meanwhile — stays exactly as it was.
 */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

export const lineStart = (source: string, offset: number) => source.lastIndexOf('\n', offset - 1) + 1;

/** The offset just past the newline that ends the line holding `offset`. */
export function lineEnd(source: string, offset: number): number {
  const newline = source.indexOf('\n', offset);
  return newline === -1 ? source.length : newline + 1;
}

/** Applies edits given against the same original text (from the last to the first, so offsets hold). */
export function applyEdits(source: string, edits: TextEdit[]): string {
  return [...edits].sort((a, b) => b.start - a.start).reduce((text, edit) => text.slice(0, edit.start) + edit.text + text.slice(edit.end), source);
}

/** Inserts `line` after the last line matching `pattern`; the file names what to look for when there is none. */
export function insertAfterLastLine(source: string, pattern: RegExp, lines: string[], file: string): string {
  const all = source.split('\n');
  const last = all.findLastIndex((line) => pattern.test(line));
  if (last === -1) throw new Error(`${file}: no line matches ${pattern}, so there is nowhere to add ${lines[0]}`);
  all.splice(last + 1, 0, ...lines);
  return all.join('\n');
}
