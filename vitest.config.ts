import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const alias = {
  '@hubspoke/kit/testing': fileURLToPath(new URL('./packages/kit/src/testing/index.ts', import.meta.url)),
  '@hubspoke/kit': fileURLToPath(new URL('./packages/kit/src/index.ts', import.meta.url)),
  '@hubspoke/contracts': fileURLToPath(new URL('./packages/contracts/src/index.ts', import.meta.url)),
};
const roots = ['packages/*', 'hub-orchestrator', 'spokes/*', 'scripts/*', 'e2e'];
const RESILIENCE = '**/*.resilience.test.ts';
const CHAOS = 'e2e/chaos/*.chaos.test.ts';

// Resilience tests (kill instances, cut connections, time deadlines) run one file at a time after the
// rest, so their timing bounds hold on 2 shared cores; everything else runs in parallel. The chaos suite
// (`npm run test:chaos`, its own CI step) exists only when HUBSPOKE_CHAOS is set, so `npm test` never runs it.
export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: roots.map((r) => `${r}/test/**/*.test.ts`).concat('e2e/**/*.test.ts'),
          exclude: ['**/node_modules/**', RESILIENCE, CHAOS],
          testTimeout: 20_000,
          hookTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'resilience',
          include: roots.map((r) => `${r}/test/**/${RESILIENCE.slice(3)}`).concat(`e2e/${RESILIENCE}`),
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
      ...(process.env.HUBSPOKE_CHAOS ? [{
        resolve: { alias },
        test: {
          name: 'chaos',
          include: [CHAOS],
          fileParallelism: false,
          globalSetup: ['e2e/chaos/support/report.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 2 },
        },
      }] : []),
    ],
  },
});
