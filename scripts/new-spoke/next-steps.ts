import type { GeneratedSpoke } from './generate-spoke.js';

/** What the generator cannot write: printed after a successful run. */
export function nextSteps({ names, contract, edited }: GeneratedSpoke, installed: boolean): string {
  const { dir, snake, prefix, port, composeService, passwordVariable, registryKeyVariable } = names;
  return `Created ${dir} (service ${names.name}, route /api/${prefix}/*, port ${port}, database and role ${snake})
and its event contract ${contract}.
Added it to: ${edited.join(', ')}.

Next:
${installed ? '' : `  - npm install               link the new workspace and add it to package-lock.json (docker builds run npm ci)\n`}\
  - .env: add ${passwordVariable} (see .env.example; a real secret in production), and the spoke's registry key,
    derived from your REGISTRY_MASTER_KEY: npm run -s registry:key -- ${names.name} >> .env   (${registryKeyVariable})
  - An existing Postgres volume (init-scripts only run on a fresh one):
      bash scripts/create-service-database.sh ${snake} ${snake}
  - Write the spoke: the example resource (items owned by their creator) shows each layer — replace it with yours:
      migrations/0001_create_items.sql    your tables (numbered files, applied at start)
      src/routes/                         routes with defineRoute: zod schemas for the request and the response, the errors
                                          they throw; public: true ones also go in registration.publicRoutes (src/service.ts)
      src/domain/                         the flows, errors, and events (createEvent(contract, ...) + enqueue in the same transaction)
      src/data/                           the repository (SQL)
      src/consumers/                      the events it reads (bind to Contract.routingKey, parseEvent), or remove the example
      packages/contracts/src/events/      each event it publishes: a defineEvent contract, exported and in EVENT_CONTRACTS,
                                          a sample in packages/contracts/test/event-contracts.test.ts, a row in docs/events.md
      test/                               keep "when <situation>, then <outcome>"; npm test -- ${dir}
      README.md                           its routes, events and variables
  - Add a row for ${composeService} to the Services table in README.md.
  - docker compose up -d --build ${composeService}: the hub routes /api/${prefix}/* as soon as it registers.
`;
}
