# syntax=docker/dockerfile:1
# ipvs-proxy image: build the N-API addon and the TypeScript CLI, then run them on a slim Node 20
# with the node tools the agent drives (iptables-restore, ipset, conntrack).

FROM node:20-bookworm AS build
WORKDIR /app
# Build the addon against the image's own Node headers instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json binding.gyp tsconfig.json ./
COPY native ./native
# npm ci also builds the addon: the root package has a binding.gyp (build/Release/ipvs_native.node).
RUN npm ci
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends iptables ipset conntrack \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/Release/ipvs_native.node ./build/Release/
COPY bin ./bin
ENTRYPOINT ["node", "/app/bin/ipvs-proxy.js"]
