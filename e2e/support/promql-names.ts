const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

/**
 * The metric and label names a PromQL expression refers to, read without a full parser: strings, range
 * selectors and grouping clauses are taken out, then what is left before `(` is a function, the rest metrics.
 */
export function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const labels = new Set<string>();
  let text = expr.replace(/\{([^}]*)\}/g, (_whole, matchers: string) => {
    for (const match of matchers.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(match[1]!);
    return ' ';
  });
  text = text.replace(/"(?:[^"\\]|\\.)*"/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_whole, _clause, names: string) => {
    for (const name of names.split(',').map((n) => n.trim()).filter(Boolean)) labels.add(name);
    return ' ';
  });
  const metrics = new Set<string>();
  for (const match of text.matchAll(/([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    if (match[2] || KEYWORDS.has(match[1]!.toLowerCase())) continue;
    metrics.add(match[1]!);
  }
  return { metrics: [...metrics], labels: [...labels].filter((name) => name !== '__name__') };
}
