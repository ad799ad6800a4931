// KubeSource against the fixture API server through client-node: first sync, watch events,
// selectors on list and watch, bookmarks, the Node, paging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, node, service, slice, waitFor } from './helpers.js';
import { SyncTimeoutError } from '../../../src/k8s/errors.js';

const DEFAULT_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

test('synced() waits for both lists, then the first events are upserts of what exists', async () => {
  const h = await harness();
  try {
    h.server.create('services', service('a'));
    h.server.create('services', service('b', { namespace: 'other' }));
    h.server.create('endpointslices', slice('a-x1', 'a', ['10.1.0.1', '10.1.0.2']));
    h.server.failNext(1, 500, '/apis/discovery.k8s.io');
    h.source.start(h.rec);
    await h.source.synced(8000);
    assert.deepEqual(h.rec.names('Service'), ['default/a', 'other/b']);
    assert.deepEqual(h.rec.names('EndpointSlice'), ['default/a-x1']);
    assert.ok(h.rec.events().every((e) => e.type === 'upsert'));
    const rvs = h.source.resourceVersions();
    assert.equal(rvs.services, String(h.server.store.currentRv()));
    assert.equal(rvs.endpointSlices, String(h.server.store.currentRv()));
  } finally {
    await h.close();
  }
});

test('synced() rejects with SyncTimeoutError naming what is missing while lists fail', async () => {
  const h = await harness();
  try {
    h.server.failNext(10_000, 503, '/apis/discovery.k8s.io');
    h.source.start(h.rec);
    await assert.rejects(h.source.synced(300), (err: unknown) => err instanceof SyncTimeoutError && err.pending.join() === 'endpointslices');
    assert.equal(h.rec.names('EndpointSlice').length, 0);
  } finally {
    await h.close();
  }
});

test('watch events arrive as upserts and deletes, with the resourceVersion followed', async () => {
  const h = await harness();
  try {
    h.source.start(h.rec);
    await h.source.synced(8000);
    await waitFor('watches open', () => h.server.openWatchCount() === 3);
    h.server.create('services', service('web'));
    await waitFor('web added', () => h.rec.names('Service').includes('default/web'));
    const updated = h.server.update('services', service('web', { port: 8080 }));
    await waitFor('web modified', () => h.rec.state().get('Service/default/web') === updated.metadata.resourceVersion);
    h.server.create('endpointslices', slice('web-1', 'web', ['10.2.0.1']));
    h.server.delete('services', 'default', 'web');
    await waitFor('web deleted', () => !h.rec.names('Service').includes('default/web'));
    const last = h.rec
      .events()
      .filter((e) => e.kind === 'Service')
      .at(-1);
    assert.deepEqual(last, { kind: 'Service', type: 'delete', namespace: 'default', name: 'web' });
    await waitFor('slice added', () => h.rec.names('EndpointSlice').join() === 'default/web-1');
    assert.equal(h.source.resourceVersions().services, String(h.server.store.currentRv()));
  } finally {
    await h.close();
  }
});

test('default selector applies to list and watch; leaving the selector is a delete', async () => {
  const h = await harness();
  try {
    h.server.create('services', service('plain'));
    h.server.create('services', service('other-proxy', { labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }));
    h.server.create('services', service('headless', { labels: { 'service.kubernetes.io/headless': '' } }));
    h.server.create('endpointslices', slice('headless-1', 'headless', ['10.3.0.1'], { 'service.kubernetes.io/headless': '' }));
    h.server.create('endpointslices', slice('plain-1', 'plain', ['10.3.0.2']));
    h.source.start(h.rec);
    await h.source.synced(8000);
    assert.deepEqual(h.rec.names('Service'), ['default/plain']);
    assert.deepEqual(h.rec.names('EndpointSlice'), ['default/plain-1']);
    await waitFor('watches open', () => h.server.openWatchCount() === 3);
    h.server.create('services', service('late-other', { labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }));
    h.server.update('services', service('plain', { labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }));
    await waitFor('plain leaves', () => h.rec.names('Service').length === 0);
    h.server.update('services', service('other-proxy'));
    await waitFor('other-proxy joins', () => h.rec.names('Service').join() === 'default/other-proxy');
    assert.ok(!h.rec.events().some((e) => e.type === 'upsert' && e.object.metadata?.name === 'late-other'));
    for (const r of ['services', 'endpointslices'] as const) {
      assert.ok(
        h.server.recordedLists(r).every((q) => q.query.labelSelector === DEFAULT_SELECTOR),
        `${r} list selector`,
      );
      assert.ok(
        h.server.recordedWatches(r).every((q) => q.query.labelSelector === DEFAULT_SELECTOR),
        `${r} watch selector`,
      );
    }
  } finally {
    await h.close();
  }
});

test('with serviceProxyName only objects labelled with it are seen, headless ones still not', async () => {
  const h = await harness({ serviceProxyName: 'ipvs' });
  try {
    const mine = { 'service.kubernetes.io/service-proxy-name': 'ipvs' };
    h.server.create('services', service('plain'));
    h.server.create('services', service('mine', { labels: mine }));
    h.server.create('services', service('mine-headless', { labels: { ...mine, 'service.kubernetes.io/headless': '' } }));
    h.source.start(h.rec);
    await h.source.synced(8000);
    assert.deepEqual(h.rec.names('Service'), ['default/mine']);
    await waitFor('watches open', () => h.server.openWatchCount() === 3);
    h.server.create('services', service('mine-2', { labels: mine }));
    h.server.create('services', service('plain-2'));
    await waitFor('mine-2', () => h.rec.names('Service').includes('default/mine-2'));
    assert.deepEqual(h.rec.names('Service'), ['default/mine', 'default/mine-2']);
    const expected = 'service.kubernetes.io/service-proxy-name=ipvs,!service.kubernetes.io/headless';
    assert.equal(h.server.recordedLists('services')[0].query.labelSelector, expected);
    assert.equal(h.server.recordedWatches('services')[0].query.labelSelector, expected);
  } finally {
    await h.close();
  }
});

test('bookmarks are requested, advance the resourceVersion, and a re-watch resumes from them', async () => {
  const h = await harness();
  try {
    h.source.start(h.rec);
    await h.source.synced(8000);
    await waitFor('watches open', () => h.server.openWatchCount() === 3);
    assert.equal(h.server.recordedWatches('services')[0].query.allowWatchBookmarks, 'true');
    h.server.create('nodes', node('unrelated-node'));
    h.server.create('nodes', node('another-node'));
    const before = h.rec.events().length;
    h.server.sendBookmarks();
    const bookmarkRv = String(h.server.store.currentRv());
    await waitFor('bookmark seen', () => h.source.resourceVersions().services === bookmarkRv);
    assert.equal(h.rec.events().length, before, 'a bookmark is not an event');
    h.server.dropWatches('end');
    await waitFor('re-watch', () => h.server.recordedWatches('services').length === 2);
    assert.equal(h.server.recordedWatches('services')[1].query.resourceVersion, bookmarkRv);
    assert.equal(h.server.recordedLists('services').length, 1, 'no relist after a clean close');
  } finally {
    await h.close();
  }
});

test("only this node's Node is listed and watched, by field selector", async () => {
  const h = await harness();
  try {
    h.server.create('nodes', node('node-a', { 'topology.kubernetes.io/zone': 'z1' }));
    h.server.create('nodes', node('node-b'));
    h.source.start(h.rec);
    await waitFor('node listed', () => h.rec.names('Node').length === 1);
    assert.deepEqual(h.rec.names('Node'), ['/node-a']);
    await waitFor('node watch', () => h.server.openWatchCount('nodes') === 1);
    h.server.update('nodes', node('node-b', { changed: 'yes' }));
    const changed = h.server.update('nodes', node('node-a', { 'topology.kubernetes.io/zone': 'z2' }));
    await waitFor('node updated', () => h.rec.state().get('Node//node-a') === changed.metadata.resourceVersion);
    const upserts = h.rec.events().filter((e) => e.kind === 'Node' && e.type === 'upsert');
    assert.ok(upserts.every((e) => e.type === 'upsert' && e.object.metadata?.name === 'node-a'));
    const last = upserts.at(-1);
    assert.equal(last?.type === 'upsert' ? last.object.metadata?.labels?.['topology.kubernetes.io/zone'] : undefined, 'z2');
    assert.equal(h.server.recordedLists('nodes')[0].query.fieldSelector, 'metadata.name=node-a');
    assert.equal(h.server.recordedWatches('nodes')[0].query.fieldSelector, 'metadata.name=node-a');
    h.server.delete('nodes', undefined, 'node-a');
    await waitFor('node deleted', () => h.rec.names('Node').length === 0);
  } finally {
    await h.close();
  }
});

test('lists are paged with limit and continue and assembled in full', async () => {
  const h = await harness({ pageSize: 2 });
  try {
    for (let i = 0; i < 5; i++) h.server.create('services', service(`s${i}`));
    h.source.start(h.rec);
    await h.source.synced(8000);
    assert.deepEqual(h.rec.names('Service'), ['default/s0', 'default/s1', 'default/s2', 'default/s3', 'default/s4']);
    const lists = h.server.recordedLists('services');
    assert.equal(lists.length, 3);
    assert.ok(lists.every((l) => l.query.limit === '2'));
    assert.equal(lists[0].query.continue, undefined);
    assert.ok(lists[1].query.continue && lists[2].query.continue);
    assert.equal(h.rec.batches.filter((b) => b.some((e) => e.kind === 'Service')).length, 1, 'one batch for the whole list');
  } finally {
    await h.close();
  }
});

test('a paged first list says how many items each list has received, page by page, before passing them on', async () => {
  const h = await harness({ pageSize: 2 });
  try {
    for (let i = 0; i < 5; i++) h.server.create('services', service(`s${i}`));
    const progress: string[] = [];
    h.source.start({ onEvents: (e) => h.rec.onEvents(e), onWarning: (m, d) => h.rec.onWarning(m, d), onProgress: (s) => progress.push(s) });
    await h.source.synced(8000);
    const services = progress.map((p) => /(\d+) Service\b/.exec(p)?.[1]).filter((n) => n !== undefined);
    assert.deepEqual([...new Set(services)], ['2', '4', '5'], progress.join('\n'));
    assert.ok(
      progress.every((p) => /^listing: .* received so far$/.test(p)),
      progress.join('\n'),
    );
  } finally {
    await h.close();
  }
});
