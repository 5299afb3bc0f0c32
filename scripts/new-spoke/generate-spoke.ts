import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTemplate } from './render-template.js';
import { assertFree, nextPort, readRepoFacts } from './repo-facts.js';
import { addScrapeJob, addToComposeBase, addToComposeFile } from './shared-files/compose-files.js';
import { addPasswordVariable, addProjectReference, addServiceDatabase, addToDockerfile } from './shared-files/text-files.js';
import { spokeNames, type SpokeNames } from './spoke-names.js';

const TEMPLATE_DIR = fileURLToPath(new URL('./template/', import.meta.url));
const COMPOSE_OVERRIDE = /^docker-compose\..+\.ya?ml$/;

type Edit = (source: string, names: SpokeNames, file: string) => string;

export interface GeneratedSpoke {
  names: SpokeNames;
  /** Paths relative to the root: the spoke's own files, then the shared files that changed. */
  created: string[];
  edited: string[];
}

/**
 * Generates the spoke and adds it to every shared file. Everything is worked out in memory first, so a
 * bad name or a shared file the edits cannot place writes nothing; the spoke's directory appears whole
 * (written aside, then renamed into place).
 */
export function generateSpoke(root: string, name: string, prefix = name): GeneratedSpoke {
  const facts = readRepoFacts(root);
  const names = spokeNames(name, prefix, nextPort(facts));
  assertFree(names, facts);

  const files = renderTemplate(TEMPLATE_DIR, names);
  const edits: [string, Edit][] = [
    ['tsconfig.json', addProjectReference],
    ['Dockerfile', addToDockerfile],
    ['docker-compose.yml', addToComposeBase],
    ...readdirSync(root).filter((file) => COMPOSE_OVERRIDE.test(file)).sort().map((file): [string, Edit] => [file, addToComposeFile]),
    ['init-scripts/01-service-databases.sh', addServiceDatabase],
    ['.env.example', addPasswordVariable],
    ['monitoring/prometheus.yml', addScrapeJob],
  ];
  const changed = edits.flatMap(([file, edit]) => {
    const before = readFileSync(join(root, file), 'utf8');
    const after = edit(before, names, file);
    return after === before ? [] : [[file, after] as const];
  });

  const staging = join(root, 'spokes', `.${names.name}-service.generating`);
  try {
    for (const [path, content] of files) {
      mkdirSync(dirname(join(staging, path)), { recursive: true });
      writeFileSync(join(staging, path), content);
    }
    if (existsSync(join(root, names.dir))) throw new Error(`${names.dir} appeared while generating`);
    renameSync(staging, join(root, names.dir));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  for (const [file, content] of changed) {
    // Written aside and renamed, so a file is never seen half-written; the mode (init-scripts run as programs) stays.
    const target = join(root, file);
    writeFileSync(`${target}.new-spoke`, content);
    chmodSync(`${target}.new-spoke`, statSync(target).mode);
    renameSync(`${target}.new-spoke`, target);
  }
  return { names, created: [...files.keys()].map((path) => `${names.dir}/${path}`).sort(), edited: changed.map(([file]) => file) };
}
