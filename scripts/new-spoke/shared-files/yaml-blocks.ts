import { isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import { applyEdits, lineEnd, lineStart, type TextEdit } from './source-lines.js';

/** A YAML file read for its structure; every change is a text edit at a node's own position. */
export function readYaml(source: string, file: string): Document.Parsed {
  const doc = parseDocument(source);
  if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML: ${doc.errors[0]!.message}`);
  return doc;
}

type Ranged = { range?: [number, number, number] | null };

function rangeOf(node: unknown, what: string): [number, number, number] {
  const range = (node as Ranged | null)?.range;
  if (!range) throw new Error(`${what} has no position in the file`);
  return range;
}

/** The whole lines a map entry spans: its key through the end of its value. */
export function pairLines(source: string, pair: Pair): [number, number] {
  const key = rangeOf(pair.key, 'a key');
  const value = pair.value ? rangeOf(pair.value, 'a value') : key;
  return [lineStart(source, key[0]), lineEnd(source, Math.max(value[1] - 1, key[0]))];
}

/** The whole lines a sequence item spans, dash included. */
export function itemLines(source: string, item: unknown): [number, number] {
  const range = rangeOf(item, 'a list item');
  return [lineStart(source, range[0]), lineEnd(source, range[1] - 1)];
}

/** The entry `key` of the map at `path`, or undefined. */
export function findPair(doc: Document, path: string[], key: string): Pair | undefined {
  const map = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (!isMap(map)) return undefined;
  return map.items.find((pair) => isScalar(pair.key) && pair.key.value === key);
}

/** Keys of the map at `path`, in file order. */
export function keysOf(doc: Document, path: string[]): string[] {
  const map = doc.getIn(path, true);
  return isMap(map) ? map.items.flatMap((pair) => (isScalar(pair.key) ? [String(pair.key.value)] : [])) : [];
}

/**
 * Inserts a copy of `lines` (a block taken from the file) after the block ending at `after`, keeping the
 * spacing the file uses between such blocks: a blank line when one follows the block copied.
 */
export function insertBlock(source: string, after: number, copied: [number, number], text: string): string {
  const spaced = source[copied[1]] === '\n';
  return applyEdits(source, [{ start: after, end: after, text: spaced ? `\n${text}` : text }]);
}

/** A scalar's new value, written in the quoting style the file used for the old one. */
export function scalarEdit(source: string, node: Node | null | undefined, value: string, what: string): TextEdit {
  const [start, end] = rangeOf(node, what);
  const quote = source[start];
  const text = quote === '"' ? JSON.stringify(value) : quote === "'" ? `'${value.replaceAll("'", "''")}'` : value;
  return { start, end, text };
}

/** Every sequence (outside `skip`) holding a string that passes `test`. */
export function sequencesWith(doc: Document, test: (value: string) => boolean, skip?: Node): { items: unknown[] }[] {
  const found: { items: unknown[] }[] = [];
  visit(doc, {
    Seq(_key, seq, path) {
      if (skip && path.some((ancestor) => ancestor === skip || (isPair(ancestor) && ancestor.value === skip))) return;
      if (seq.items.some((item) => isScalar(item) && typeof item.value === 'string' && test(item.value))) found.push(seq);
    },
  });
  return found;
}

export { isMap, isScalar, isSeq };
