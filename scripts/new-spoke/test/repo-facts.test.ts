import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { fillPlaceholders, renderTemplate } from '../render-template.js';
import { nextPort, readRepoFacts } from '../repo-facts.js';
import { spokeNames } from '../spoke-names.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TEMPLATE_DIR = fileURLToPath(new URL('../template/', import.meta.url));

describe('what the repository already uses', () => {
  test('when read, then the hub\'s and spokes\' ports and prefixes are taken and the next spoke gets the port after the highest', () => {
    const facts = readRepoFacts(ROOT);
    expect(facts.ports).toEqual(expect.arrayContaining([3000, 3001, 3002]));
    expect(nextPort(facts)).toBe(Math.max(...facts.ports) + 1);
    expect(facts.routePrefixes).toEqual(expect.arrayContaining(['auth', 'users']));
    expect(facts.databases).toEqual(expect.arrayContaining(['hub', 'auth', 'users']));
    expect(facts.composeServices).toEqual(expect.arrayContaining(['spoke-auth', 'spoke-user']));
  });
});

describe('the template', () => {
  test('when rendered, then no placeholder is left and file names carry the spoke\'s name', () => {
    const files = renderTemplate(TEMPLATE_DIR, spokeNames('invoice', 'invoices', 3005));
    expect([...files.keys()]).toEqual(expect.arrayContaining(['package.json', 'src/main.ts', 'test/support/invoice-harness.ts', 'migrations/0001_create_items.sql']));
    for (const [path, content] of files) expect(content, path).not.toMatch(/\{\{\w+\}\}/);
  });

  test('when a placeholder is unknown, then rendering fails instead of leaving a blank', () => {
    expect(() => fillPlaceholders('{{nmae}}', spokeNames('invoice', 'invoices', 3005))).toThrow(/\{\{nmae\}\} is unknown/);
  });
});
