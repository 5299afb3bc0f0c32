import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
let eslint: ESLint;

/** The rule ids ESLint reports for `code` as if it were the file at `path` (relative to the repository). */
async function violations(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

beforeAll(() => {
  eslint = new ESLint({
    cwd: ROOT,
    // With CI=true typescript-eslint builds its programs once from the files on disk ("single run") and would
    // lint the real file instead of the text given here.
    overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { disallowAutomaticSingleRunInference: true } } },
  });
});

describe('lint guards the architecture', () => {
  test('when a spoke imports another spoke or the hub, then lint fails; the kit and its own files pass', async () => {
    expect(await violations('spokes/user-service/src/app.ts', "export { createApp } from '../../auth-service/src/app.js';\n"))
      .toContain('no-restricted-imports');
    expect(await violations('spokes/user-service/src/routes/user-routes.ts', "export { hubService } from '../../../../hub-orchestrator/src/service.js';\n"))
      .toContain('no-restricted-imports');
    expect(await violations('spokes/user-service/src/app.ts', "export { createServiceApp } from '@hubspoke/kit';\nexport { userRoutes } from './routes/user-routes.js';\n"))
      .toEqual([]);
  }, 60_000);

  test('when the kit imports a service, then lint fails', async () => {
    expect(await violations('packages/kit/src/index.ts', "export { userService } from '../../../spokes/user-service/src/service.js';\n"))
      .toContain('no-restricted-imports');
  }, 60_000);

  test('when a promise is left floating or a switch misses a case, then lint fails', async () => {
    const code = [
      'const work = async (): Promise<void> => undefined;',
      'export function start(kind: "a" | "b"): number {',
      '  work();',
      '  switch (kind) {',
      '    case "a": return 1;',
      '  }',
      '  return 0;',
      '}',
      '',
    ].join('\n');
    expect(await violations('hub-orchestrator/src/main.ts', code))
      .toEqual(expect.arrayContaining(['@typescript-eslint/no-floating-promises', '@typescript-eslint/switch-exhaustiveness-check']));
  }, 60_000);
});
