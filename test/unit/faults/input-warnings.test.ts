// Input that used to be dropped or misread without a word (ManifestSource → Agent → fake kernel):
// each case logs one line naming the file and line (or the object and field), and everything
// valid next to it is programmed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { agentWorld, clusterIp, RecordingEvents, sleep, sliceFor, svc, until, WatchedIpvs, type AgentWorld, type AgentWorldOptions } from './agent-world.js';

async function withAgent(files: Record<string, string>, body: (world: AgentWorld, dir: string) => Promise<void>, opts: AgentWorldOptions = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'input-warnings-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const world = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 100 }), opts);
  try {
    await world.agent.run();
    await body(world, dir);
  } finally {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const docs = (...objects: unknown[]): string => objects.map((o) => stringify(o)).join('---\n');
const served = async (world: AgentWorld, i: number): Promise<boolean> =>
  (await world.ipvs.dump()).some((e) => e.service.address === clusterIp(i) && e.reals.length === 1);

test('an unknown kind is warned once with file, line and the closest kind; a Deployment is quiet; the rest is programmed', async () => {
  const typo = { ...svc(1), kind: 'Servce' };
  const odd = { apiVersion: 'example.com/v1', kind: 'Frobnicator', metadata: { name: 'f' } };
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: {} };
  await withAgent({ 'a.yaml': docs(svc(0), sliceFor(0), typo, odd, deployment, { ...odd, metadata: { name: 'g' } }) }, async (world, dir) => {
    await until('service 0 programmed', () => served(world, 0));
    const file = join(dir, 'a.yaml');
    const typoLines = world.logger.matching('warn', /unknown kind "Servce"/);
    assert.equal(typoLines.length, 1);
    assert.match(typoLines[0].message, /a\.yaml:\d+: unknown kind "Servce" \(did you mean Service\?\); object ignored/);
    assert.ok(typoLines[0].message.includes(file));
    const oddLines = world.logger.matching('warn', /Frobnicator/);
    assert.equal(oddLines.length, 1, 'once per file and kind, not per object');
    assert.match(oddLines[0].message, /the kinds read here are Service, EndpointSlice, Endpoints, Node/);
    assert.deepEqual(world.logger.matching('warn', /Deployment/), []);
    assert.equal(await world.count(), 1);
  });
});

test('a malformed document in a multi-document file is skipped with file and line; its siblings are programmed', async () => {
  const text = docs(svc(0), sliceFor(0)) + '---\napiVersion: v1\nkind: Service\nmetadata: {name: broken\nspec: [\n---\n' + docs(svc(1), sliceFor(1));
  await withAgent({ 'b.yaml': text }, async (world) => {
    await until('services 0 and 1 programmed', async () => (await served(world, 0)) && (await served(world, 1)));
    const lines = world.logger.matching('warn', /b\.yaml:\d+:\d+: .*document skipped; 4 object\(s\) read from its other documents/);
    assert.equal(lines.length, 1, world.logger.lines.map((l) => l.message).join('\n'));
    assert.equal(await world.count(), 2);
  });
});

test('a named targetPort no endpoint port carries is warned once per Service and port; the other port is programmed', async () => {
  const two = svc(0, {
    ports: [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
      { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 'metrics' as unknown as number },
    ],
  });
  await withAgent({ 'c.yaml': docs(two, sliceFor(0)) }, async (world) => {
    await until('the http port programmed', () => served(world, 0));
    await sleep(500); // more syncs at --sync-period 200 ms: still one line
    const lines = world.logger.matching('warn', /targetPort/);
    assert.equal(lines.length, 1);
    assert.equal(
      lines[0].message,
      'Service default/svc-0: spec.ports[1].targetPort: named port "metrics" (service port TCP "metrics"): no EndpointSlice of the service carries it (they carry TCP "http"); no real servers for this port',
    );
    const metrics = (await world.ipvs.dump()).find((e) => e.service.port === 9090);
    assert.ok(metrics, 'the port still has its virtual server');
    assert.equal(metrics.reals.length, 0);
  });
});

test('a warning about a Service is one Event on that Service, taken from the typed reference; a slice warning is only logged', async () => {
  const events = new RecordingEvents();
  const base = svc(1);
  const sticky = { ...base, metadata: { name: 'web', namespace: 'team-a' }, spec: { ...base.spec, sessionAffinity: 'Sticky' } };
  const orphan = { ...sliceFor(2), metadata: { name: 'orphan-abc', namespace: 'team-a' } };
  await withAgent(
    { 'd.yaml': docs(svc(0), sliceFor(0), sticky, orphan) },
    async (world) => {
      await until('service 0 programmed', () => served(world, 0));
      await until('the sticky service programmed', async () => (await world.ipvs.dump()).some((e) => e.service.address === clusterIp(1)));
      await sleep(500); // more syncs at --sync-period 200 ms: still one Event
      assert.deepEqual(events.warnings, [
        {
          ref: { kind: 'Service', namespace: 'team-a', name: 'web' },
          reason: 'IpvsProxyInvalidSpec',
          message: 'spec.sessionAffinity: unknown session affinity "Sticky"; None used',
        },
      ]);
      const sliceLines = world.logger.matching('warn', /^EndpointSlice team-a\/orphan-abc: metadata\.labels/);
      assert.equal(sliceLines.length, 1);
      assert.deepEqual(sliceLines[0].fields, { object: 'EndpointSlice team-a/orphan-abc', field: 'metadata.labels[kubernetes.io/service-name]' });
    },
    { events },
  );
});

/** A kernel that takes a while over each batch, as a cold sync of a large cluster does. */
class SlowIpvs extends WatchedIpvs {
  override async apply(ops: Parameters<WatchedIpvs['apply']>[0]): ReturnType<WatchedIpvs['apply']> {
    await sleep(400);
    return super.apply(ops);
  }
}

test('a long first sync logs its progress at a steady interval: objects read, desired state, programming stage and counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'input-progress-'));
  const objects: unknown[] = [];
  for (let i = 0; i < 40; i++) objects.push(svc(i), sliceFor(i));
  writeFileSync(join(dir, 'many.yaml'), docs(...objects));
  const world = agentWorld(new ManifestSource({ path: dir }), { ipvs: new SlowIpvs(), progressIntervalMs: 150 });
  try {
    await world.agent.run();
    await until('the first sync programmed', async () => (await world.count()) === 40);
    await sleep(400);
    const lines = world.logger.matching('info', /^first sync in progress/);
    assert.ok(lines.length >= 3, lines.map((l) => l.message).join('\n'));
    const listed = lines.filter((l) => !/waiting for the first list/.test(l.message));
    assert.ok(listed.length >= 3 && listed.every((l) => /\([\d.]+ s\): 80 objects read; /.test(l.message)), lines.map((l) => l.message).join('\n'));
    assert.ok(
      lines.some((l) =>
        /80 objects read; desired state computed: 40 virtual servers, 40 addresses; programming: IPVS stage 1 of 2: 40 addService operations \(0 written before it\)/.test(
          l.message,
        ),
      ),
    );
    assert.ok(lines.some((l) => /programming: IPVS stage 2 of 2: 40 addReal operations \(40 written before it\)/.test(l.message)));
    const lastAt = world.logger.lines.indexOf(lines.at(-1)!);
    const syncAt = world.logger.lines.findIndex((l) => l.message.startsWith('sync: 40 virtual servers'));
    assert.ok(syncAt > lastAt, 'no progress line after the first sync is reported');
  } finally {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
