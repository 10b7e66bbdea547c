# syntax=docker/dockerfile:1
# Cost Core: gRPC, gRPC-Web and Connect on port 8080, SQLite data in /data.

# Build stage: compilers for better-sqlite3's native module, production dependencies only.
FROM node:20-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Compile stage: TypeScript to JavaScript (dist/), which the server runs without a loader.
# Native modules are not built here: tsc does not load them.
FROM node:20-slim AS compile
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY gen ./gen
COPY src ./src
RUN npm run build

# Runtime stage: no compilers, a non-root user.
FROM node:20-slim
ENV NODE_ENV=production \
    COST_CORE_HOST=0.0.0.0 \
    COST_CORE_PORT=8080 \
    COST_CORE_SQLITE_PATH=/data/cost-core.db
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=compile /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY gen ./gen
COPY proto ./proto
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.COST_CORE_PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "bin/cost-core.js", "serve"]
