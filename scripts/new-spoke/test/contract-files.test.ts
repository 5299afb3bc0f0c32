import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ITEM_CREATED_SAMPLE } from '../example-events.js';
import { renderTemplate } from '../render-template.js';
import { addContractSample, addToContractIndex, readContract } from '../shared-files/contract-files.js';
import { spokeNames } from '../spoke-names.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CONTRACT_TEMPLATE_DIR = fileURLToPath(new URL('../contract-template/', import.meta.url));
const contract = { name: 'InvoiceItemCreatedV1', routingKey: 'invoice.item_created.v1', module: './invoice-item-created.js', producer: 'invoice', exchange: 'events' as const };

// Written like packages/contracts/src/events/index.ts, with what others might have changed around the lists.
const INDEX = `import type { EventContract } from '@hubspoke/kit';
import { UserDeletedV1 } from './user-deleted.js';
import { UserUpdatedV1 } from './user-updated.js';

export * from './user-deleted.js';
export * from './user-updated.js';

/** Every contract. */
export const EVENT_CONTRACTS: readonly EventContract[] = [UserUpdatedV1, UserDeletedV1];
`;

describe('the contract template', () => {
  test('when rendered, then its file is named for the spoke and declares <name>.item_created v1, produced by the spoke', () => {
    const [[path, text]] = [...renderTemplate(CONTRACT_TEMPLATE_DIR, spokeNames('ledger-book', 'ledgers', 3005))] as [[string, string]];
    expect(path).toBe('ledger-book-item-created.ts');
    expect(readContract(`packages/contracts/src/events/${path}`, text)).toEqual({
      name: 'LedgerBookItemCreatedV1', routingKey: 'ledger_book.item_created.v1', module: './ledger-book-item-created.js', producer: 'ledger-book', exchange: 'events',
    });
  });

  test('when a file declares no exported defineEvent constant, then reading it names the file', () => {
    expect(() => readContract('events/x.ts', "const Hidden = defineEvent('x.y', 1, schema, { producer: 'x' });\n")).toThrow(/events\/x.ts: no exported defineEvent/);
    expect(() => readContract('events/x.ts', "export const NoOwner = defineEvent('x.y', 1, schema);\n")).toThrow(/events\/x.ts: no exported defineEvent.*producer/);
  });
});

describe('packages/contracts/src/events/index.ts', () => {
  test('when a contract is added, then its import and export sit in module order and it ends EVENT_CONTRACTS, nothing else moved', () => {
    const edited = addToContractIndex(INDEX, contract, 'index.ts');
    expect(edited).toBe(INDEX
      .replace("import { UserDeletedV1 }", "import { InvoiceItemCreatedV1 } from './invoice-item-created.js';\nimport { UserDeletedV1 }")
      .replace("export * from './user-deleted.js';", "export * from './invoice-item-created.js';\nexport * from './user-deleted.js';")
      .replace('UserUpdatedV1, UserDeletedV1]', 'UserUpdatedV1, UserDeletedV1, InvoiceItemCreatedV1]'));
  });

  test('when the list is one contract per line, then the new one gets its own line, trailing comma kept or left out as the file has it', () => {
    const withComma = INDEX.replace('[UserUpdatedV1, UserDeletedV1]', '[\n  UserUpdatedV1,\n  UserDeletedV1,\n] as const');
    expect(addToContractIndex(withComma, contract, 'index.ts')).toContain('[\n  UserUpdatedV1,\n  UserDeletedV1,\n  InvoiceItemCreatedV1,\n] as const');
    const without = INDEX.replace('[UserUpdatedV1, UserDeletedV1]', '[\n  UserUpdatedV1,\n  UserDeletedV1\n]');
    expect(addToContractIndex(without, { ...contract, module: './zebra.js' }, 'index.ts'))
      .toMatch(/import \{ UserUpdatedV1 \} from '\.\/user-updated\.js';\nimport \{ InvoiceItemCreatedV1 \} from '\.\/zebra\.js';\n[\s\S]*\[\n {2}UserUpdatedV1,\n {2}UserDeletedV1,\n {2}InvoiceItemCreatedV1\n\]/);
  });

  test('when the index has no EVENT_CONTRACTS list or already lists the module, then the error names the file and what is wrong', () => {
    expect(() => addToContractIndex(INDEX.replace('EVENT_CONTRACTS', 'ALL'), contract, 'index.ts')).toThrow(/index.ts: no EVENT_CONTRACTS = \[...\] list/);
    expect(() => addToContractIndex(INDEX.replaceAll('user-updated', 'invoice-item-created'), contract, 'index.ts')).toThrow(/index.ts already lists .\/invoice-item-created.js/);
  });
});

describe('packages/contracts/test/event-contracts.test.ts', () => {
  test('when a sample is added, then SAMPLES gains it on its own line after the last one', () => {
    const source = "const SAMPLES: Record<string, unknown> = {\n  'user.deleted.v1': { userId: 'a' },\n};\n";
    expect(addContractSample(source, 'invoice.item_created.v1', '{ itemId: \'b\' }', 'test.ts'))
      .toBe("const SAMPLES: Record<string, unknown> = {\n  'user.deleted.v1': { userId: 'a' },\n  'invoice.item_created.v1': { itemId: 'b' },\n};\n");
    expect(() => addContractSample('const OTHER = {};\n', 'invoice.item_created.v1', '{}', 'test.ts')).toThrow(/test.ts: no SAMPLES/);
  });
});

describe('the repository\'s own contract files', () => {
  test('when edited, then the index and the contracts test each list the new contract once', () => {
    const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');
    const index = addToContractIndex(read('packages/contracts/src/events/index.ts'), contract, 'index.ts');
    expect(index.match(/InvoiceItemCreatedV1/g)).toHaveLength(2);
    expect(index).toMatch(/EVENT_CONTRACTS[^=]*=[^;]*InvoiceItemCreatedV1\]/);
    expect(index).toContain("export * from './invoice-item-created.js';\n");
    const samples = addContractSample(read('packages/contracts/test/event-contracts.test.ts'), contract.routingKey, ITEM_CREATED_SAMPLE, 'test.ts');
    expect(samples).toContain(`  'invoice.item_created.v1': ${ITEM_CREATED_SAMPLE},\n};`);
  });
});
