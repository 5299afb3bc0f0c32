import { passwordVariable } from '../../credentials/credential-templates.js';
import { deriveRegistryKey } from '../../../packages/kit/src/registry/credentials.js';
import type { SpokeNames } from '../spoke-names.js';
import { insertAfterLastLine } from './source-lines.js';

const MANIFEST_COPY = /^COPY spokes\/[^/\s]+\/package\.json spokes\/[^/\s]+\/\s*$/;

/** Dockerfile: every run of spoke manifest COPY lines (the deps stage's, and any stage's that copies them too) gains the new one. */
export function addToDockerfile(source: string, names: SpokeNames, file: string): string {
  const lines = source.split('\n');
  const result: string[] = [];
  lines.forEach((line, i) => {
    result.push(line);
    if (MANIFEST_COPY.test(line) && !MANIFEST_COPY.test(lines[i + 1] ?? '')) result.push(`COPY ${names.dir}/package.json ${names.dir}/`);
  });
  if (result.length === lines.length) throw new Error(`${file}: no "COPY spokes/<spoke>/package.json" line to add ${names.dir}'s after`);
  return result.join('\n');
}

/** tsconfig.json: the spoke's project reference after the last spoke's, one per line as the file has them. */
export function addProjectReference(source: string, names: SpokeNames, file: string): string {
  const lines = source.split('\n');
  const last = lines.findLastIndex((line) => /\{\s*"path":\s*"spokes\/[^"]+"\s*\}/.test(line));
  if (last === -1) throw new Error(`${file}: no { "path": "spokes/..." } reference line to add ${names.dir}'s after`);
  const line = lines[last]!;
  const hadComma = /,\s*$/.test(line);
  lines.splice(last, 1, hadComma ? line : `${line},`, line.replace(/"spokes\/[^"]+"/, `"${names.dir}"`).replace(/,\s*$/, hadComma ? ',' : ''));
  const text = lines.join('\n');
  const parsed = JSON.parse(text) as { references?: { path: string }[] };
  if (!parsed.references?.some((reference) => reference.path === names.dir)) throw new Error(`${file}: the reference to ${names.dir} did not land in "references"`);
  return text;
}

/** init-scripts: the database and its owning role, created with the others on a fresh volume. */
export function addServiceDatabase(source: string, names: SpokeNames, file: string): string {
  const variable = names.passwordVariable;
  return insertAfterLastLine(source, /^create\s+\S+\s+\S+\s/, [`create ${names.snake} ${names.snake} "\${${variable}:?${variable} is missing}"`], file);
}

/**
 * .env.example: the role's password, a placeholder production refuses, after the other database passwords; its
 * RabbitMQ and Redis users' passwords after the other services' ones; and the spoke's registry key, derived from the
 * file's own REGISTRY_MASTER_KEY, after the other spokes' keys.
 */
export function addSpokeVariables(source: string, names: SpokeNames, file: string): string {
  const master = /^REGISTRY_MASTER_KEY=(.+)$/m.exec(source)?.[1]?.trim();
  if (!master) throw new Error(`${file}: no REGISTRY_MASTER_KEY to derive ${names.registryKeyVariable} from`);
  const withPassword = insertAfterLastLine(source, /^[A-Z0-9_]+_DB_PASSWORD=/, [
    `# Role ${names.snake} of the ${names.name} spoke's database (init-scripts; on an existing volume: scripts/create-service-database.sh ${names.snake} ${names.snake}).`,
    `${names.passwordVariable}=changeme-${names.name}-db-password`,
  ], file);
  const withUsers = insertAfterLastLine(withPassword, /^[A-Z0-9_]+_REDIS_PASSWORD=/, [
    `# Password of the \`${names.name}\` RabbitMQ user.`,
    `${passwordVariable(names.name, 'RABBITMQ')}=changeme-${names.name}-rabbitmq-password`,
    `# Password of the \`${names.name}\` Redis user.`,
    `${passwordVariable(names.name, 'REDIS')}=changeme-${names.name}-redis-password`,
  ], file);
  return insertAfterLastLine(withUsers, /^[A-Z0-9_]+_REGISTRY_KEY=/, [
    `# Registry key of the ${names.name} spoke, derived from REGISTRY_MASTER_KEY: \`npm run registry:key -- ${names.name}\`.`,
    `${names.registryKeyVariable}=${deriveRegistryKey(master, names.name)}`,
  ], file);
}
