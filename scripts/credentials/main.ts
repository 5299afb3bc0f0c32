import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentialTemplates, readServices } from './credential-templates.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `npm run generate:credentials`: rewrites the broker definitions and the Redis ACL file from the services and contracts. */
for (const [file, text] of credentialTemplates(readServices(ROOT))) {
  writeFileSync(join(ROOT, file), text);
  process.stdout.write(`wrote ${file}\n`);
}
