// The whole agent (KubeSource → model → proxier, fake kernel) under API server failures: restart,
// dropped watches, 410, a run of 500s, a half-open watch, partial and truncated relists. In every
// case the kernel table keeps the last good state (no virtual server deleted, sampled throughout),
// and the agent recovers on its own: a Service created after the fault reaches the kernel.
// In-process because the watchdog and list timeouts are not CLI settings: KubeSource gets short
// ones here (inactivity 400 ms, list timeout 1 s, backoff 20..200 ms).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeSource } from '../../../src/k8s/kube-source.js';
import { FixtureApiServer, type KubeObject } from '../../fixtures/apiserver/server.js';
import { agentWorld, clusterIp, sleep, sliceFor, svc, tableText, until, type AgentWorld } from './agent-world.js';

const SERVICES = 40;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'faults-api-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Rig {
  server: FixtureApiServer;
  world: AgentWorld;
  source: KubeSource;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const server = await FixtureApiServer.start({ goneStyle: 'event' });
  for (let i = 0; i < SERVICES; i++) {
    server.create('services', svc(i) as KubeObject);
    server.create('endpointslices', sliceFor(i) as unknown as KubeObject);
  }
  server.create('nodes', { metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } });
  const source = new KubeSource({
    kubeconfig: server.writeKubeconfig(mkdtempSync(join(dir, 'k-'))),
    nodeName: 'node-a',
    backoffInitialMs: 20,
    backoffMaxMs: 200,
    listTimeoutMs: 1000,
    inactivityTimeoutMs: 400,
    emptyListConfirmMs: 300,
    watchTimeoutSeconds: { min: 60, max: 60 },
  });
  const world = agentWorld(source);
  await world.agent.run();
  await until('first sync programs every service', async () => (await world.count()) === SERVICES);
  await until('watches open', () => server.openWatchCount() === 3);
  return {
    server,
    world,
    source,
    async close() {
      await world.stop();
      await server.close();
    },
  };
}

/** Runs during a fault: the fake kernel never has fewer virtual servers than before it. */
function sampleTable(world: AgentWorld): { stop(): Promise<number> } {
  let min = Infinity;
  let running = true;
  const loop = (async () => {
    while (running) {
      min = Math.min(min, await world.count());
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return min;
    },
  };
}

/** A Service made after the fault must reach the kernel: the agent recovered without help. */
async function recovers(r: Rig, i: number): Promise<void> {
  r.server.create('services', svc(i) as KubeObject);
  r.server.create('endpointslices', sliceFor(i) as unknown as KubeObject);
  await until(
    `service ${clusterIp(i)} programmed after the fault`,
    async () => (await r.world.ipvs.dump()).some((e) => e.service.address === clusterIp(i)),
    15_000,
  );
}

const faults: Array<{ name: string; inject(r: Rig): Promise<void> }> = [
  {
    name: 'API server restart',
    async inject(r) {
      await r.server.restart();
      await sleep(300);
    },
  },
  {
    name: 'watches dropped (socket reset)',
    async inject(r) {
      r.server.dropWatches('destroy');
      await sleep(200);
    },
  },
  {
    name: '410 Gone on the watches after a compaction',
    async inject(r) {
      r.server.compact();
      r.server.expireWatches();
      await sleep(300);
    },
  },
  {
    name: '500 for a while (12 requests) across a relist',
    async inject(r) {
      r.server.failNext(12, 500);
      r.server.compact();
      r.server.expireWatches();
      await until(
        'the 500s are consumed',
        () => r.server.requests.filter((q) => q.path.startsWith('/api')).length > 0 && r.world.logger.lines.some((l) => /500/.test(l.message)),
        10_000,
      );
      await sleep(300);
    },
  },
  {
    name: 'half-open watches (headers, then silence) caught by the watchdog',
    async inject(r) {
      r.server.hangNextWatches(3);
      r.server.dropWatches('end');
      await sleep(900); // past the 400 ms watchdog
    },
  },
  {
    name: 'every open watch hangs silently',
    async inject(r) {
      r.server.hangWatches();
      await sleep(900);
    },
  },
  {
    name: 'a partial Services relist (continue token expires)',
    async inject(r) {
      r.server.nextList('services', 'partial');
      r.server.compact();
      r.server.expireWatches();
      await sleep(500);
    },
  },
  {
    name: 'a truncated EndpointSlices relist (body cut mid-JSON)',
    async inject(r) {
      r.server.nextList('endpointslices', 'truncated');
      r.server.compact();
      r.server.expireWatches();
      await sleep(500);
    },
  },
  {
    name: 'an empty (valid, complete) Services and EndpointSlices relist',
    async inject(r) {
      r.server.nextList('services', 'empty');
      r.server.nextList('endpointslices', 'empty');
      r.server.compact();
      r.server.expireWatches();
      await until('the empty lists are reported', () => r.world.logger.lines.filter((l) => /came back empty/.test(l.message)).length >= 2, 10_000);
      await sleep(500); // past the 300 ms confirmation: the second lists are complete again
    },
  },
  {
    name: 'a list that never answers during the relist',
    async inject(r) {
      r.server.hangNextLists('services', 1);
      r.server.compact();
      r.server.expireWatches();
      await sleep(1500);
    },
  },
];

for (const [n, f] of faults.entries()) {
  test(`${f.name}: kernel keeps every virtual server, nothing deleted, recovers`, async () => {
    const r = await rig();
    try {
      const before = await tableText(r.world.ipvs);
      const sampler = sampleTable(r.world);
      await f.inject(r);
      const min = await sampler.stop();
      assert.equal(min, SERVICES, 'a virtual server vanished during the fault');
      assert.equal(await tableText(r.world.ipvs), before, 'kernel table changed during the fault');
      await recovers(r, SERVICES + n);
      assert.deepEqual(r.world.ipvs.deletedServices, [], 'no virtual server was ever deleted');
      assert.deepEqual(r.world.ipvs.deletedReals, [], 'no real server was ever deleted');
      assert.equal(await r.world.count(), SERVICES + 1);
    } finally {
      await r.close();
    }
  });
}
