# One workspace build for every service; each service is a target:
#   docker build --target service --build-arg SERVICE_DIR=spokes/user-service --build-arg SERVICE_PORT=3002 .
#   docker build --target dev ...      the same service running its mounted sources with reload (docker-compose.dev.yml)
ARG NODE_IMAGE=node:24-bookworm-slim

# Node with the one healthcheck every service stage inherits: GET /health on the service's own PORT.
FROM ${NODE_IMAGE} AS base
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Dependencies of the whole workspace (dev included), cached on the lockfile and manifests only.
FROM base AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/kit/package.json packages/kit/
COPY packages/contracts/package.json packages/contracts/
COPY hub-orchestrator/package.json hub-orchestrator/
COPY spokes/auth-service/package.json spokes/auth-service/
COPY spokes/user-service/package.json spokes/user-service/
COPY spokes/notification-service/package.json spokes/notification-service/
COPY spokes/analytics-service/package.json spokes/analytics-service/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error

# Compile everything once with tsc -b.
FROM deps AS build
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
COPY hub-orchestrator hub-orchestrator
COPY spokes spokes
RUN npx tsc -b

# Development: one service's TypeScript sources (mounted over the copies) run by tsx; node --watch
# restarts it when an imported file changes. The kit resolves to its sources too (hubspoke-source).
FROM build AS dev
ARG SERVICE_DIR
ARG SERVICE_PORT=3000
ENV PORT=${SERVICE_PORT}
WORKDIR /app/${SERVICE_DIR}
EXPOSE ${SERVICE_PORT}
CMD ["node", "--conditions=hubspoke-source", "--import", "tsx", "--watch", "src/main.ts"]

# Production dependencies of one service only (its own plus the kit's and the contracts').
FROM deps AS prod-deps
ARG SERVICE_DIR
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace="${SERVICE_DIR}" --no-audit --no-fund --loglevel=error

# What one service needs at run time: compiled output, manifests, SQL migrations, message templates.
FROM build AS bundle
ARG SERVICE_DIR
RUN mkdir -p /out/packages/kit /out/packages/contracts "/out/${SERVICE_DIR}" \
 && cp -r packages/kit/package.json packages/kit/dist packages/kit/migrations /out/packages/kit/ \
 && cp -r packages/contracts/package.json packages/contracts/dist /out/packages/contracts/ \
 && cp -r "${SERVICE_DIR}/package.json" "${SERVICE_DIR}/dist" "/out/${SERVICE_DIR}/" \
 && if [ -d "${SERVICE_DIR}/migrations" ]; then cp -r "${SERVICE_DIR}/migrations" "/out/${SERVICE_DIR}/"; fi \
 && if [ -d "${SERVICE_DIR}/templates" ]; then cp -r "${SERVICE_DIR}/templates" "/out/${SERVICE_DIR}/"; fi \
 && find /out -name '*.tsbuildinfo' -delete -o -name '*.map' -delete

FROM base AS service
ARG SERVICE_DIR
ARG SERVICE_PORT=3000
ENV NODE_ENV=production PORT=${SERVICE_PORT}
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=bundle /out ./
WORKDIR /app/${SERVICE_DIR}
USER node
EXPOSE ${SERVICE_PORT}
CMD ["node", "dist/main.js"]
