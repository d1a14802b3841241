# Mailsystem: one image for every role, chosen by the command (docs/deploy.md):
#   node dist/main/start.js     all in one (the default): migrations, API, workers, console
#   node dist/main/api.js       the HTTP API and the console
#   node dist/main/worker.js    workers and the recovery loop
#   node dist/main/migrate.js   apply migrations, then exit
#   node dist/main/capture.js   a development mail catcher (SMTP)
#   node bin/mailsystem.js      the command line (docs/cli.md)
# scripts/image-check.mjs runs the build stage's steps and the runtime stage's files outside a
# container, as CI does.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    CAPTURE_DIR=/data/mail
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/bin ./bin
# The code is root's and read-only to the service; only /data (embedded database, caught mail) is
# the service user's.
RUN mkdir -p /data/mail && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/main/healthcheck.js"]
CMD ["node", "dist/main/start.js"]
