import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SpokeNames } from './spoke-names.js';

const PLACEHOLDER = /\{\{(\w+)\}\}/g;
// Templates end in .tpl so that tsc, eslint and vitest never take them for sources of this repository.
const TEMPLATE_SUFFIX = '.tpl';

/** Replaces every `{{key}}` with the spoke's spelling of it; an unknown key is a template bug, not a blank. */
export function fillPlaceholders(text: string, names: SpokeNames): string {
  return text.replace(PLACEHOLDER, (_match, key: string) => {
    if (!Object.hasOwn(names, key)) throw new Error(`template placeholder {{${key}}} is unknown`);
    return String(names[key as keyof SpokeNames]);
  });
}

/** The spoke's files as `relative path → content`, placeholders filled in paths and contents alike. */
export function renderTemplate(templateDir: string, names: SpokeNames): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(templateDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(TEMPLATE_SUFFIX)) continue;
    const path = join(entry.parentPath, entry.name);
    const target = fillPlaceholders(relative(templateDir, path).slice(0, -TEMPLATE_SUFFIX.length), names);
    files.set(target, fillPlaceholders(readFileSync(path, 'utf8'), names));
  }
  return files;
}
