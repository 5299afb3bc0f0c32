import { describe, expect, test } from 'vitest';
import { addToEventsTable } from '../shared-files/events-doc.js';

const DOC = `# Events

Text before the table.

| Routing key           | Producer | Consumers            |
|-----------------------|----------|----------------------|
| \`user.registered.v1\`  | auth     | user                 |
| \`user.deleted.v1\`     | user     | —                    |

## Using a contract
`;
const row = { routingKey: 'invoice.item_created.v1', producer: 'invoice', consumes: ['user.deleted.v1'] };

describe('docs/events.md', () => {
  test('when a contract is added, then it gets a row at the end of the table, padded like the others, and joins the consumers of what it reads', () => {
    expect(addToEventsTable(DOC, row, 'events.md')).toBe(DOC
      .replace('| user     | —                    |', '| user     | invoice              |')
      .replace('\n\n## Using', '\n| `invoice.item_created.v1` | invoice  | —                    |\n\n## Using'));
  });

  test('when the columns are in another order, then each cell lands under its own header', () => {
    const reordered = '| Producer | Routing key | Consumers |\n|---|---|---|\n| user | `user.deleted.v1` | auth |\n';
    expect(addToEventsTable(reordered, row, 'events.md').split('\n').slice(2, 4)).toEqual([
      '| user | `user.deleted.v1` | auth, invoice |',
      '| invoice | `invoice.item_created.v1` | — |',
    ]);
  });

  test('when there is no events table, the key is listed already or a consumed event has no row, then the error names the file and why', () => {
    expect(() => addToEventsTable('# Events\n', row, 'events.md')).toThrow(/events.md: no table with a "Routing key" column/);
    expect(() => addToEventsTable(DOC.replace('user.registered.v1', 'invoice.item_created.v1'), row, 'events.md')).toThrow(/already has invoice.item_created.v1/);
    expect(() => addToEventsTable(DOC, { ...row, consumes: ['order.placed.v1'] }, 'events.md')).toThrow(/no row for order.placed.v1, which invoice consumes/);
  });
});
