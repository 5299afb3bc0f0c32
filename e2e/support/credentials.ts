import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { passwordVariable, readServices, type ServiceCredentials } from '../../scripts/credentials/credential-templates.js';
import { REPO_ROOT } from './compose.js';

/** The repository's services as the credential templates list them, each with a fresh password per store. */
export function serviceCredentials(): (ServiceCredentials & { rabbitmqPassword: string; redisPassword: string })[] {
  // A quote and a backslash: the broker definitions must carry them through JSON escaping.
  return readServices(REPO_ROOT).map((service) => ({
    ...service, rabbitmqPassword: `${randomBytes(6).toString('hex')}"\\x`, redisPassword: randomBytes(12).toString('hex'),
  }));
}

/**
 * Renders a data-config template with the real render-secrets.sh, as the redis and rabbitmq containers do at start,
 * into a fresh directory; returns the rendered text and the file's path (removed by `remove`).
 */
export function renderTemplate(mode: 'json' | 'sha256', template: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'hubspoke-credentials-'));
  const output = join(dir, 'rendered');
  const owner = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  execFileSync('sh', [join(REPO_ROOT, 'data-config/render-secrets.sh'), mode, join(REPO_ROOT, template), output, owner], {
    env: { PATH: process.env.PATH, ...env }, stdio: 'pipe',
  });
  return { path: output, text: readFileSync(output, 'utf8'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The environment variables render-secrets.sh reads for these services' passwords. */
export function passwordEnv(services: ReturnType<typeof serviceCredentials>, store: 'RABBITMQ' | 'REDIS'): Record<string, string> {
  return Object.fromEntries(services.map((s) => [passwordVariable(s.name, store), store === 'REDIS' ? s.redisPassword : s.rabbitmqPassword]));
}
