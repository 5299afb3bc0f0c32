/** What docs/events.md says about one contract. */
export interface EventRow {
  routingKey: string;
  producer: string;
  /** Routing keys of the events the producer itself consumes: it joins their Consumers cell. */
  consumes: string[];
}

const ROW = /^\s*\|.*\|\s*$/;
const SEPARATOR = /^\s*\|(\s*:?-+:?\s*\|)+\s*$/;
const cellsOf = (line: string) => line.trim().slice(1, -1).split('|');
const text = (cell: string) => cell.trim().replace(/^`(.*)`$/, '$1');
const NONE = '—';

/**
 * docs/events.md: the contract's row at the end of the table of routing keys, and the producer added to the
 * Consumers of each event it reads. Columns are found by their headers and cells padded to their widths.
 */
export function addToEventsTable(source: string, { routingKey, producer, consumes }: EventRow, file: string): string {
  const lines = source.split('\n');
  const header = lines.findIndex((line, i) => ROW.test(line) && SEPARATOR.test(lines[i + 1] ?? '') && cellsOf(line).map(text).includes('Routing key'));
  if (header === -1) throw new Error(`${file}: no table with a "Routing key" column to add ${routingKey} to`);
  const columns = cellsOf(lines[header]!).map(text);
  const column = (name: string) => {
    const index = columns.indexOf(name);
    if (index === -1) throw new Error(`${file}: the events table has no "${name}" column`);
    return index;
  };
  const [key, from, to] = [column('Routing key'), column('Producer'), column('Consumers')];
  const widths = cellsOf(lines[header + 1]!).map((cell) => cell.length);
  const format = (cells: string[]) => `|${cells.map((cell, i) => ` ${cell.padEnd((widths[i] ?? 0) - 2)} `).join('|')}|`;

  let end = header + 2;
  while (end < lines.length && ROW.test(lines[end]!)) end++;
  const rowOf = (wanted: string) => {
    const index = lines.slice(header + 2, end).findIndex((line) => text(cellsOf(line)[key] ?? '') === wanted);
    return index === -1 ? undefined : header + 2 + index;
  };
  if (rowOf(routingKey) !== undefined) throw new Error(`${file}: the events table already has ${routingKey}`);
  for (const consumed of consumes) {
    const row = rowOf(consumed);
    if (row === undefined) throw new Error(`${file}: the events table has no row for ${consumed}, which ${producer} consumes`);
    const cells = cellsOf(lines[row]!).map((cell) => cell.trim());
    cells[to] = [cells[to], producer].filter((name) => name && name !== NONE).join(', ');
    lines[row] = format(cells);
  }
  const cells = columns.map(() => '');
  [cells[key], cells[from], cells[to]] = [`\`${routingKey}\``, producer, NONE];
  lines.splice(end, 0, format(cells));
  return lines.join('\n');
}
