import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSUMED_EVENTS, ITEM_CREATED_SAMPLE } from './example-events.js';
import { renderTemplate } from './render-template.js';
import { assertFree, nextPort, readRepoFacts } from './repo-facts.js';
import { addToComposeBase, addToComposeFile } from './shared-files/compose-files.js';
import { addContractSample, addToContractIndex, readContract } from './shared-files/contract-files.js';
import { addToEventsTable } from './shared-files/events-doc.js';
import { addProjectReference, addServiceDatabase, addSpokeVariables, addToDockerfile } from './shared-files/text-files.js';
import { credentialTemplates, readServices } from '../credentials/credential-templates.js';
import { SpokeInputError, spokeNames, type SpokeNames } from './spoke-names.js';

const TEMPLATE_DIR = fileURLToPath(new URL('./template/', import.meta.url));
const CONTRACT_TEMPLATE_DIR = fileURLToPath(new URL('./contract-template/', import.meta.url));
const CONTRACTS_DIR = 'packages/contracts/src/events';
const COMPOSE_OVERRIDE = /^docker-compose\..+\.ya?ml$/;

type Edit = (source: string, names: SpokeNames, file: string) => string;

export interface GeneratedSpoke {
  names: SpokeNames;
  /** Paths relative to the root: the spoke's own files, its event contract, and the shared files that changed. */
  created: string[];
  contract: string;
  edited: string[];
}

/**
 * Generates the spoke and its event contract, and adds them to every shared file. Everything is worked out in memory first, so a
 * bad name or a shared file the edits cannot place writes nothing; the spoke's directory appears whole
 * (written aside, then renamed into place).
 */
export function generateSpoke(root: string, name: string, prefix = name): GeneratedSpoke {
  const facts = readRepoFacts(root);
  const names = spokeNames(name, prefix, nextPort(facts));
  assertFree(names, facts);

  const files = renderTemplate(TEMPLATE_DIR, names);
  const [contractName, contractText] = [...renderTemplate(CONTRACT_TEMPLATE_DIR, names)][0]!;
  const contractPath = `${CONTRACTS_DIR}/${contractName}`;
  if (existsSync(join(root, contractPath))) throw new SpokeInputError(`${contractPath} already exists`);
  const contract = readContract(contractPath, contractText);
  const edits: [string, Edit][] = [
    ['tsconfig.json', addProjectReference],
    ['Dockerfile', addToDockerfile],
    ['docker-compose.yml', addToComposeBase],
    ...readdirSync(root).filter((file) => COMPOSE_OVERRIDE.test(file)).sort().map((file): [string, Edit] => [file, addToComposeFile]),
    ['init-scripts/01-service-databases.sh', addServiceDatabase],
    ['.env.example', addSpokeVariables],
    [`${CONTRACTS_DIR}/index.ts`, (source, _names, file) => addToContractIndex(source, contract, file)],
    ['packages/contracts/test/event-contracts.test.ts', (source, _names, file) => addContractSample(source, contract.routingKey, ITEM_CREATED_SAMPLE, file)],
    ['docs/events.md', (source, { name }, file) => addToEventsTable(source, { routingKey: contract.routingKey, producer: name, consumes: CONSUMED_EVENTS }, file)],
  ];
  const changed = edits.flatMap(([file, edit]) => {
    const before = readFileSync(join(root, file), 'utf8');
    const after = edit(before, names, file);
    return after === before ? [] : [[file, after] as const];
  });
  // Its broker user (publishing only its own event) and Redis user, in the files Redis and RabbitMQ render at start.
  for (const [file, text] of credentialTemplates(readServices(root, [{ name: names.name, produces: [contract.routingKey] }]))) changed.push([file, text]);

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
  writeAside(join(root, contractPath), contractText);
  for (const [file, content] of changed) writeAside(join(root, file), content, statSync(join(root, file)).mode);
  return { names, created: [...files.keys()].map((path) => `${names.dir}/${path}`).sort(), contract: contractPath, edited: changed.map(([file]) => file) };
}

/** Written aside and renamed, so a file is never seen half-written; the mode (init-scripts run as programs) stays. */
function writeAside(target: string, content: string, mode?: number): void {
  writeFileSync(`${target}.new-spoke`, content);
  if (mode !== undefined) chmodSync(`${target}.new-spoke`, mode);
  renameSync(`${target}.new-spoke`, target);
}
