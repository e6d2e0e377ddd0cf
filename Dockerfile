# The contract-test image (docker compose --profile test): every dependency, the sources and the tests.
FROM node:24-bookworm-slim AS test
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY src/ src/
COPY test/ test/
CMD ["npx", "ava", "test/contract"]

# The IdP image: production dependencies only; Node 24 runs the .ts sources directly.
FROM node:24-bookworm-slim
# Production unless told otherwise, so a forgotten setting fails start-up instead of using a development default.
ENV NODE_ENV=production
# Two malloc arenas instead of one per thread: memory freed by the thread pool and the worker thread
# (password hashes of 19 MiB each among it) otherwise stays in an arena per thread, about 110 MB more
# resident under load.
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY src/ src/
COPY interactions/ interactions/
COPY views/ views/
COPY demo/ demo/
# The code stays root-owned and read-only to the IdP; only DATA_DIR is writable.
RUN mkdir -p data && chown node:node data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "src/main.ts"]
