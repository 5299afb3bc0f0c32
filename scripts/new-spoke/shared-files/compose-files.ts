import type { Document, Node } from 'yaml';
import { passwordVariable } from '../../credentials/credential-templates.js';
import type { SpokeNames } from '../spoke-names.js';
import { applyEdits, type TextEdit } from './source-lines.js';
import { findPair, insertBlock, isMap, isScalar, itemLines, keysOf, pairLines, readYaml, scalarEdit, sequencesWith } from './yaml-blocks.js';

// The spoke every new one is modelled on: whatever shape it has in a compose file, the new one gets.
export const REFERENCE_SERVICE = 'spoke-user';
const REFERENCE_PACKAGE = 'user-service';
export const REFERENCE_DIR = `spokes/${REFERENCE_PACKAGE}`;

const SPOKE_SERVICE = /^spoke-/;

/**
 * docker-compose.yml: the new spoke's service, a copy of the reference spoke's with its own directory,
 * port, image, database, broker and Redis users and registry key (its other variables are the reference spoke's
 * own and are left out), and the passwords handed to Postgres, Redis and RabbitMQ to set those up.
 */
export function addToComposeBase(source: string, names: SpokeNames, file: string): string {
  let text = addToComposeFile(source, names, file);
  if (text === source) throw new Error(`${file}: no ${REFERENCE_SERVICE} service to model ${names.composeService} on`);
  const doc = readYaml(text, file);
  const service = ['services', names.composeService];
  const environment = doc.getIn([...service, 'environment'], true);
  // Its own database, broker user, Redis user (data-config/ gets them from the credential templates) and registry key.
  const urls: Record<string, string> = {
    DATABASE_URL: `postgres://${names.snake}:\${${names.passwordVariable}}@postgres:5432/${names.snake}`,
    REDIS_URL: `redis://${names.name}:\${${passwordVariable(names.name, 'REDIS')}}@redis:6379`,
    AMQP_URL: `amqp://${names.name}:\${${passwordVariable(names.name, 'RABBITMQ')}}@rabbitmq:5672`,
    REGISTRY_KEY: `\${${names.registryKeyVariable}}`,
  };
  if (!isMap(environment)) throw new Error(`${file}: ${REFERENCE_SERVICE} has no environment to model ${names.composeService}'s on`);
  const edits: TextEdit[] = [
    scalarEdit(text, doc.getIn([...service, 'build', 'args', 'SERVICE_PORT'], true) as Node, String(names.port), `${file}: build.args.SERVICE_PORT`),
  ];
  for (const [variable, url] of Object.entries(urls)) {
    const node = doc.getIn([...service, 'environment', variable], true) as Node | undefined;
    if (!node) throw new Error(`${file}: ${REFERENCE_SERVICE} has no environment.${variable} to model ${names.composeService}'s on`);
    edits.push(scalarEdit(text, node, url, `${file}: ${variable}`));
  }
  for (const pair of environment.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === '<<' || (key && key in urls)) continue;
    const [start, end] = pairLines(text, pair);
    edits.push({ start, end, text: '' });
  }
  text = applyEdits(text, edits);
  text = addPassword(text, 'postgres', /_DB_PASSWORD$/, names.passwordVariable, file);
  text = addPassword(text, 'redis', /_REDIS_PASSWORD$/, passwordVariable(names.name, 'REDIS'), file);
  return addPassword(text, 'rabbitmq', /_RABBITMQ_PASSWORD$/, passwordVariable(names.name, 'RABBITMQ'), file);
}

/**
 * Any compose file: paths of the reference spoke listed outside its service (the dev override's shared
 * source mounts) gain the new spoke's, and the reference spoke's service entry is copied for the new one.
 * A file that mentions neither comes back unchanged.
 */
export function addToComposeFile(source: string, names: SpokeNames, file: string): string {
  const text = addListedPaths(source, names, file);
  const doc = readYaml(text, file);
  const reference = findPair(doc, ['services'], REFERENCE_SERVICE);
  if (!reference) return text;
  const copied = pairLines(text, reference);
  const lastSpoke = keysOf(doc, ['services']).filter((key) => SPOKE_SERVICE.test(key)).at(-1)!;
  const block = text.slice(...copied).replace(REFERENCE_SERVICE, names.composeService).replaceAll(REFERENCE_DIR, names.dir)
    // Image tags name the package (the dev override's `-source` tags too): never share the reference spoke's.
    .replaceAll(`/${REFERENCE_PACKAGE}:`, `/${names.name}-service:`);
  return insertBlock(text, pairLines(text, findPair(doc, ['services'], lastSpoke)!)[1], copied, block);
}

function addListedPaths(source: string, names: SpokeNames, file: string): string {
  const doc: Document = readYaml(source, file);
  const referenceService = doc.getIn(['services', REFERENCE_SERVICE], true) as Node | undefined;
  const edits = sequencesWith(doc, (value) => value.includes(`${REFERENCE_DIR}/`), referenceService).map((seq): TextEdit => {
    if ((seq as { flow?: boolean }).flow) throw new Error(`${file}: a one-line list holds ${REFERENCE_DIR} paths; add ${names.dir}'s by hand`);
    const mentions = (dir: string) => (item: unknown) => isScalar(item) && String(item.value).includes(dir);
    const after = itemLines(source, seq.items.findLast(mentions('spokes/')))[1];
    const text = seq.items.filter(mentions(`${REFERENCE_DIR}/`)).map((item) => source.slice(...itemLines(source, item)).replaceAll(REFERENCE_DIR, names.dir)).join('');
    return { start: after, end: after, text };
  });
  return applyEdits(source, edits);
}

/**
 * Postgres gets the role's password only to hand it to init-scripts on a fresh volume; Redis and RabbitMQ get the
 * spoke's user passwords to render their users at start.
 */
function addPassword(source: string, composeService: string, pattern: RegExp, variable: string, file: string): string {
  const doc = readYaml(source, file);
  const environment = doc.getIn(['services', composeService, 'environment'], true);
  const passwords = isMap(environment) ? environment.items.filter((pair) => isScalar(pair.key) && pattern.test(String(pair.key.value))) : [];
  const last = passwords.at(-1);
  if (!last) throw new Error(`${file}: ${composeService} has no ${pattern.source.replace(/\$$/, '')} variable to add ${variable} after`);
  const [start, end] = pairLines(source, last);
  const text = source.slice(start, end).replaceAll(String((last.key as { value: unknown }).value), variable);
  return applyEdits(source, [{ start: end, end, text }]);
}
