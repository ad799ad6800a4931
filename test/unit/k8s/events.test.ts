// EventRecorder against the fixture API server: created Events, folded repeats (merge patch),
// the per-object rate limit, errors reported and not thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventRecorder } from '../../../src/k8s/events.js';
import { loadKubeConfig } from '../../../src/k8s/kube-source.js';
import type { EventPostError } from '../../../src/k8s/errors.js';
import { FixtureApiServer } from '../../fixtures/apiserver/server.js';

async function setup(opts: Partial<ConstructorParameters<typeof EventRecorder>[1]> = {}) {
  const server = await FixtureApiServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'events-'));
  const errors: EventPostError[] = [];
  let clock = 1_700_000_000_000;
  const recorder = new EventRecorder(loadKubeConfig(server.writeKubeconfig(dir)), {
    component: 'ipvs-proxy',
    host: 'node-a',
    onError: (e) => errors.push(e),
    now: () => clock,
    ...opts,
  });
  return {
    server,
    recorder,
    errors,
    advance(ms: number) {
      clock += ms;
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const REF = { kind: 'Service', namespace: 'shop', name: 'cart', uid: 'u-1' };

test('a warning becomes a core/v1 Warning Event about the Service', async () => {
  const t = await setup();
  try {
    t.recorder.warn(REF, 'UnknownScheduler', 'scheduler "xx" is not known; using rr');
    await t.recorder.flush();
    const [e] = t.server.storedEvents();
    assert.equal(e.api, 'core/v1');
    assert.equal(e.namespace, 'shop');
    const o = e.object as Record<string, unknown>;
    assert.equal(o.type, 'Warning');
    assert.equal(o.reason, 'UnknownScheduler');
    assert.equal(o.message, 'scheduler "xx" is not known; using rr');
    assert.deepEqual(o.involvedObject, { kind: 'Service', namespace: 'shop', name: 'cart', uid: 'u-1', apiVersion: 'v1' });
    assert.deepEqual(o.source, { component: 'ipvs-proxy', host: 'node-a' });
    assert.equal(o.count, 1);
    assert.equal(o.firstTimestamp, new Date(1_700_000_000_000).toISOString());
    assert.equal(o.reportingInstance, 'node-a');
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});

test('repeats are folded into one Event by merge patch; other messages get their own', async () => {
  const t = await setup();
  try {
    t.recorder.warn(REF, 'BadPort', 'port 0');
    t.advance(1000);
    t.recorder.warn(REF, 'BadPort', 'port 0');
    t.advance(1000);
    t.recorder.warn(REF, 'BadPort', 'port 0');
    t.recorder.warn(REF, 'BadPort', 'port 70000');
    await t.recorder.flush();
    const events = t.server.storedEvents();
    assert.equal(events.length, 2);
    const folded = events.find((e) => (e.object as Record<string, unknown>).message === 'port 0')!;
    assert.equal((folded.object as Record<string, unknown>).count, 3);
    assert.equal((folded.object as Record<string, unknown>).lastTimestamp, new Date(1_700_000_002_000).toISOString());
    assert.deepEqual(folded.patchContentTypes, ['application/merge-patch+json', 'application/merge-patch+json']);
  } finally {
    await t.close();
  }
});

test('an expired Event (404 on patch) is created again', async () => {
  const t = await setup({ aggregateWindowMs: 60_000 });
  try {
    t.recorder.warn(REF, 'R', 'm');
    await t.recorder.flush();
    t.server.failNext(1, 404, '/api/v1/namespaces/shop/events/');
    t.recorder.warn(REF, 'R', 'm');
    await t.recorder.flush();
    assert.equal(t.server.storedEvents().length, 2);
    t.advance(120_000);
    t.recorder.warn(REF, 'R', 'm');
    await t.recorder.flush();
    assert.equal(t.server.storedEvents().length, 3, 'outside the window a new Event is created');
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});

test('each object is rate limited by a token bucket; other objects are not affected', async () => {
  const t = await setup({ burst: 2, refillIntervalMs: 10_000 });
  try {
    for (let i = 0; i < 5; i++) t.recorder.warn(REF, 'R', `m${i}`);
    t.recorder.warn({ ...REF, name: 'other' }, 'R', 'm');
    await t.recorder.flush();
    assert.equal(t.server.storedEvents().length, 3);
    assert.equal(t.recorder.dropped(), 3);
    t.advance(10_000);
    t.recorder.warn(REF, 'R', 'after refill');
    t.recorder.warn(REF, 'R', 'still limited');
    await t.recorder.flush();
    assert.equal(t.server.storedEvents().length, 4);
    assert.equal(t.recorder.dropped(), 4);
  } finally {
    await t.close();
  }
});

test('API errors go to onError as EventPostError and never throw', async () => {
  const t = await setup();
  try {
    t.server.failNext(1, 500, '/api/v1/namespaces/shop/events');
    assert.doesNotThrow(() => t.recorder.warn(REF, 'R', 'm'));
    await t.recorder.flush();
    assert.equal(t.errors.length, 1);
    assert.equal(t.errors[0].name, 'EventPostError');
    assert.equal(t.errors[0].statusCode, 500);
    assert.equal(t.errors[0].namespace, 'shop');
    t.recorder.warn(REF, 'R', 'm2');
    await t.recorder.flush();
    assert.equal(t.server.storedEvents().length, 1, 'the recorder keeps working after an error');
  } finally {
    await t.close();
  }
});
