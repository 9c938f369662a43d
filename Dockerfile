# One image for every process of the fleet: the command picks the role (worker, webhook, dashboard, sandbox).
#
# The base is pinned by version. Pin its digest as well where your build can reach the registry
# (`docker buildx imagetools inspect node:20.19.0-bookworm-slim` prints it; then use
# node:20.19.0-bookworm-slim@sha256:…): this project's own machines have no registry to ask.
ARG NODE_IMAGE=node:20.19.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY catalog ./catalog
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
# tini as PID 1: forwards SIGTERM/SIGINT to node (which then closes gracefully) and reaps zombies.
# -s (subreaper) keeps it quiet when compose's `init: true` puts docker-init in front of it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/catalog ./catalog
COPY deploy/docker/healthcheck.js ./deploy/docker/healthcheck.js
USER node
# worker metrics and health (METRICS_PORT), webhook receiver (WEBHOOK_PORT), dashboard (DASHBOARD_PORT)
EXPOSE 9464 8080 3000
# GET /readyz on the port of the container's role (see the script); Redis gone → unhealthy after 3 failed checks
# in a row, 20–30 s (one check every 10 s; readiness itself turns false within ~2 s).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/docker/healthcheck.js"]
ENTRYPOINT ["tini", "-s", "--", "node", "dist/cli.js"]
CMD ["worker"]
