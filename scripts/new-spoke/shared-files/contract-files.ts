import { basename } from 'node:path';
import ts from 'typescript';
import { applyEdits, lineEnd, lineStart, type TextEdit } from './source-lines.js';

/** One event contract as its file declares it: what the contracts index and test need to list it. */
export interface ContractSource {
  /** The exported constant, e.g. `InvoiceItemCreatedV1`. */
  name: string;
  /** `invoice.item_created.v1`. */
  routingKey: string;
  /** As the index imports it: `./invoice-item-created.js`. */
  module: string;
  /** The service that publishes it (`{ producer: 'invoice' }`). */
  producer: string;
  /** `events` for `defineEvent`, `tasks` for `defineCommand` (a command to one service's queue). */
  exchange: 'events' | 'tasks';
}

const parse = (file: string, source: string) => ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
const isExported = (statement: ts.VariableStatement) => statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;

/**
 * Reads `export const X = defineEvent('<type>', <version>, schema, { producer: '<service>' })` (or `defineCommand`)
 * from a contract file.
 */
export function readContract(file: string, source: string): ContractSource {
  for (const statement of parse(file, source).statements) {
    if (!ts.isVariableStatement(statement) || !isExported(statement)) continue;
    for (const { name, initializer: call } of statement.declarationList.declarations) {
      if (!ts.isIdentifier(name) || !call || !ts.isCallExpression(call) || !['defineEvent', 'defineCommand'].includes(call.expression.getText())) continue;
      const [type, version, , options] = call.arguments;
      const producer = options && ts.isObjectLiteralExpression(options) ? options.properties.find((p) => p.name?.getText() === 'producer') : undefined;
      if (type && ts.isStringLiteral(type) && version && ts.isNumericLiteral(version) && producer && ts.isPropertyAssignment(producer) && ts.isStringLiteral(producer.initializer)) {
        return {
          name: name.text, routingKey: `${type.text}.v${version.text}`, module: `./${basename(file, '.ts')}.js`, producer: producer.initializer.text,
          exchange: call.expression.getText() === 'defineCommand' ? 'tasks' : 'events',
        };
      }
    }
  }
  throw new Error(`${file}: no exported defineEvent('<type>', <version>, schema, { producer: '<service>' }) constant`);
}

/**
 * packages/contracts/src/events/index.ts: the contract's import and `export *` among the others (in module
 * order), and the contract at the end of EVENT_CONTRACTS, found by the syntax tree whatever the layout.
 */
export function addToContractIndex(source: string, contract: ContractSource, file: string): string {
  const tree = parse(file, source);
  const relative = (statement: ts.Statement) => {
    const specifier = (ts.isImportDeclaration(statement) || (ts.isExportDeclaration(statement) && !statement.exportClause)) ? statement.moduleSpecifier : undefined;
    return specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith('./') ? specifier : undefined;
  };
  const imports = tree.statements.filter((s) => ts.isImportDeclaration(s) && relative(s));
  const reexports = tree.statements.filter((s) => ts.isExportDeclaration(s) && relative(s));
  if ([...imports, ...reexports].some((s) => relative(s)!.text === contract.module)) throw new Error(`${file} already lists ${contract.module}`);
  // Written in the quotes the file uses (the first import's).
  const quote = imports[0] ? source[relative(imports[0])!.getStart()]! : "'";
  const module = `${quote}${contract.module}${quote}`;
  const list = initializerOf(tree, 'EVENT_CONTRACTS', ts.isArrayLiteralExpression, `${file}: no EVENT_CONTRACTS = [...] list to add ${contract.name} to`);
  return applyEdits(source, [
    lineAmong(source, imports, relative, contract.module, `import { ${contract.name} } from ${module};`, `${file}: no import of a contract`),
    lineAmong(source, reexports, relative, contract.module, `export * from ${module};`, `${file}: no "export * from './<contract>.js'" line`),
    appendItem(source, list.elements, list.getEnd() - 1, contract.name),
  ]);
}

/**
 * packages/contracts/test/event-contracts.test.ts: a valid payload for the contract in SAMPLES, which
 * must hold one for every contract (the test builds and parses each).
 */
export function addContractSample(source: string, routingKey: string, sample: string, file: string): string {
  const samples = initializerOf(parse(file, source), 'SAMPLES', ts.isObjectLiteralExpression, `${file}: no SAMPLES = { ... } to add ${routingKey}'s sample to`);
  const keys = samples.properties.flatMap((p) => (p.name && (ts.isStringLiteral(p.name) || ts.isIdentifier(p.name)) ? [p.name] : []));
  if (keys.some((key) => key.text === routingKey)) throw new Error(`${file}: SAMPLES already has ${routingKey}`);
  const quote = keys.length > 0 && ts.isStringLiteral(keys.at(-1)!) ? source[keys.at(-1)!.getStart()]! : "'";
  return applyEdits(source, [appendItem(source, samples.properties, samples.getEnd() - 1, `${quote}${routingKey}${quote}: ${sample}`)]);
}

/** The literal a `const <name> = ...` starts with, through `as`, `satisfies` and parentheses. */
function initializerOf<T extends ts.Node>(tree: ts.SourceFile, name: string, is: (node: ts.Node) => node is T, missing: string): T {
  let found: T | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name && node.initializer) {
      let value: ts.Expression = node.initializer;
      while (ts.isAsExpression(value) || ts.isSatisfiesExpression(value) || ts.isParenthesizedExpression(value)) value = value.expression;
      if (is(value)) found = value;
    }
    if (!found) ts.forEachChild(node, visit);
  };
  visit(tree);
  if (!found) throw new Error(missing);
  return found;
}

/** A line among statements kept in module order: after the last that sorts before it, else before the first. */
function lineAmong(source: string, statements: ts.Statement[], moduleOf: (s: ts.Statement) => ts.StringLiteral | undefined, module: string, line: string, missing: string): TextEdit {
  if (statements.length === 0) throw new Error(`${missing} to add ${module}'s next to`);
  const before = statements.findLast((s) => moduleOf(s)!.text < module);
  const at = before ? lineEnd(source, before.getEnd()) : lineStart(source, statements[0]!.getStart());
  return { start: at, end: at, text: `${line}\n` };
}

/**
 * `text` after the last item of a list or object ending at `close`: on a line of its own, indented like the
 * last item, when the items are one per line (with the trailing comma the list has or has not); else inline.
 */
function appendItem(source: string, items: ts.NodeArray<ts.Node>, close: number, text: string): TextEdit {
  const last = items.at(-1);
  if (!last) return { start: items.pos, end: items.pos, text };
  if (!source.slice(last.getEnd(), close).includes('\n')) return { start: last.getEnd(), end: last.getEnd(), text: `, ${text}` };
  const indent = /^[ \t]*/.exec(source.slice(lineStart(source, last.getStart())))![0];
  if (!items.hasTrailingComma) return { start: last.getEnd(), end: last.getEnd(), text: `,\n${indent}${text}` };
  const at = lineEnd(source, last.getEnd());
  return { start: at, end: at, text: `${indent}${text},\n` };
}
