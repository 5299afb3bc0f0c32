import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingTemplateData, unknownTemplate } from './notification-errors.js';

/** What a message says, on every channel: email uses all three parts, SMS the text, push the subject and text. */
export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

export type TemplateData = Record<string, string | number>;

const PARTS = { subject: 'subject.txt', text: 'text.txt', html: 'html.html' } as const;
const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Templates are directories of files (`<dir>/<name>/subject.txt`, `text.txt`, `html.html`) with
 * `{{variable}}` placeholders, read once at start: a template missing a part stops the start instead of
 * failing a send later.
 */
export function loadTemplates(dir: string) {
  const templates = new Map<string, RenderedMessage>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    if (!TEMPLATE_NAME.test(entry.name)) throw new Error(`template directory ${entry.name}: names are lower-case letters, digits and dashes`);
    const read = (file: string) => readFileSync(join(dir, entry.name, file), 'utf8');
    templates.set(entry.name, { subject: read(PARTS.subject).trim(), text: read(PARTS.text), html: read(PARTS.html) });
  }

  return {
    names: () => [...templates.keys()].sort(),

    /**
     * Every placeholder filled, or a 400: an unknown template or any variable without a value, all named
     * at once, so nothing half-rendered is ever queued. Values are escaped for HTML in the HTML part, and
     * line breaks are flattened in the subject (a header).
     */
    render(name: string, data: TemplateData): RenderedMessage {
      const template = templates.get(name);
      if (!template) throw unknownTemplate(name);
      const missing = [...new Set(Object.values(template).flatMap((part) => [...part.matchAll(PLACEHOLDER)].map((m) => m[1]!)))]
        .filter((key) => !Object.hasOwn(data, key));
      if (missing.length > 0) throw missingTemplateData(missing.sort());
      const fill = (part: string, encode: (value: string) => string) => part.replace(PLACEHOLDER, (_m, key: string) => encode(String(data[key])));
      return {
        subject: fill(template.subject, (value) => value.replace(/[\r\n\t]+/g, ' ')),
        text: fill(template.text, (value) => value),
        html: fill(template.html, escapeHtml),
      };
    },
  };
}

export type Templates = ReturnType<typeof loadTemplates>;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}
