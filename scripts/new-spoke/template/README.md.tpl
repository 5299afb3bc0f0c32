# {{name}}-service

Items, owned by the user who created them. Reached only through the hub at `/api/{{prefix}}/*` (registers
as service `{{name}}`, route prefix `{{prefix}}`); the hub strips the prefix.

## Routes (every one needs a bearer token, verified here against the auth spoke's JWKS)

Declared with the kit's `defineRoute` in `src/routes/item-routes.ts`: the same schemas parse each request and
make the OpenAPI document served at `/internal/openapi.json`, which the hub merges into its API reference.

| route | answer |
|---|---|
| `POST /` | 201 item; body: `title` (1–200 characters), anything else is a 400 naming the field; publishes `{{snake}}.item_created` v1 |
| `GET /:id` | 200 item for its owner; anyone else gets the same 404 as a missing item; a malformed id is `400 {{CONST}}.INVALID_ID` |
| `GET /?limit=&cursor=` | 200 `{ items, nextCursor }`: the caller's own items in (created_at, id) order, limit default 20, capped at 100 |

`/health`, `/ready` (Postgres critical, RabbitMQ → `degraded`) and `/internal/metrics` (Prometheus) need no token;
the hub routes none of them.

## Events

Their contracts are in `@hubspoke/contracts` (`packages/contracts/src/events/`, listed in `docs/events.md`).

- consumes `user.deleted` v1 `{ userId }` (`UserDeletedV1`) on queue `{{name}}.user-deleted`: deletes that user's
  items; dedupe by envelope id in the handler's transaction; an invalid payload is dead-lettered at once.
- publishes through the outbox (same transaction as the change): `{{snake}}.item_created` v1
  `{ itemId, ownerId, title }` (`{{Pascal}}ItemCreatedV1`, `packages/contracts/src/events/{{name}}-item-created.ts`);
  envelope source `{{name}}`.

## Database

Its own database `{{snake}}` and role `{{snake}}` (password `{{CONST}}_DB_PASSWORD`), created by `init-scripts/` on a
fresh Postgres volume, or on an existing one by `scripts/create-service-database.sh {{snake}} {{snake}}`.
Migrations in `migrations/` run at start.

## Environment

`PORT` ({{port}}), `PUBLIC_URL` (optional: overrides the derived instance URL), `REGISTRY_ADVERTISE_SUBNET`
(optional: the hub network CIDR to advertise an address in), `DATABASE_URL`, `REDIS_URL`, `AMQP_URL`,
`AMQP_PREFIX` (''), `REGISTRY_KEY` (secret: this spoke's own registry key, `npm run registry:key`), `REGISTRY_KEY_PREFIX` (''), `AUTH_JWKS_URL`,
`AUTH_ISSUER` (hubspoke-auth), `AUTH_AUDIENCE` (hubspoke), `DRAIN_DELAY_MS` (5000), `SHUTDOWN_TIMEOUT_MS`
(30000), `LOG_LEVEL` (info), `VALIDATE_RESPONSES` (false: tests and staging set it to check every response against
its schema).
