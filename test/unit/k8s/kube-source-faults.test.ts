// KubeSource under the failures a real control plane produces: 410 Gone, dropped and hung
// watches, 500s, lists that fail or come back partial, an API server restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, service, waitFor, type Harness } from './helpers.js';

async function syncedWith(h: Harness, names: string[]): Promise<void> {
  for (const n of names) h.server.create('services', service(n));
  h.source.start(h.rec);
  await h.source.synced(8000);
  await waitFor('watches open', () => h.server.openWatchCount() === 3);
}

function deletes(h: Harness): string[] {
  return h.rec
    .events()
    .filter((e) => e.kind === 'Service' && e.type === 'delete')
    .map((e) => (e.type === 'delete' && e.kind === 'Service' ? e.name : ''))
    .sort();
}

for (const goneStyle of ['event', 'http'] as const) {
  test(`410 Gone (${goneStyle}) relists and emits deletes for what vanished meanwhile`, async () => {
    const h = await harness({}, { goneStyle });
    try {
      await syncedWith(h, ['a', 'b', 'c']);
      h.server.hangWatches(); // the source misses everything from here on
      h.server.delete('services', 'default', 'b');
      const a2 = h.server.update('services', service('a', { port: 81 }));
      h.server.create('services', service('d'));
      h.server.compact();
      h.server.dropWatches('end');
      await waitFor('relist', () => h.rec.names('Service').join() === 'default/a,default/c,default/d');
      assert.deepEqual(deletes(h), ['b']);
      assert.equal(h.rec.state().get('Service/default/a'), a2.metadata.resourceVersion);
      const afterSync = h.rec
        .events()
        .filter((e) => e.kind === 'Service')
        .slice(3);
      assert.equal(afterSync.filter((e) => e.type === 'upsert' && e.object.metadata?.name === 'c').length, 0, 'unchanged c is not re-sent');
      assert.ok(h.rec.warnings.some((w) => /410 Gone/.test(w.message)));
      assert.equal(h.server.recordedLists('services').length, 2);
    } finally {
      await h.close();
    }
  });
}

test('an ERROR 410 event on an open watch leads to a relist', async () => {
  const h = await harness();
  try {
    await syncedWith(h, ['a']);
    h.server.expireWatches();
    await waitFor('relisted', () => h.server.recordedLists('services').length === 2);
    h.server.create('services', service('after'));
    await waitFor('after', () => h.rec.names('Service').includes('default/after'));
    assert.deepEqual(deletes(h), []);
  } finally {
    await h.close();
  }
});

test('dropped connections re-watch from the last resourceVersion without a relist', async () => {
  const h = await harness();
  try {
    await syncedWith(h, ['a']);
    const rv = h.source.resourceVersions().services;
    h.server.dropWatches('destroy');
    h.server.create('services', service('while-away'));
    await waitFor('while-away', () => h.rec.names('Service').includes('default/while-away'));
    const watches = h.server.recordedWatches('services');
    assert.ok(watches.length >= 2);
    assert.equal(watches[1].query.resourceVersion, rv);
    assert.equal(h.server.recordedLists('services').length, 1);
  } finally {
    await h.close();
  }
});

test('a hung watch is replaced by the inactivity watchdog', async () => {
  const h = await harness({ inactivityTimeoutMs: 300 });
  try {
    await syncedWith(h, ['a']);
    h.server.hangWatches();
    h.server.create('services', service('behind-hang'));
    await waitFor('watchdog recovered', () => h.rec.names('Service').includes('default/behind-hang'));
    assert.ok(h.rec.warnings.some((w) => /no watch event or bookmark for 300 ms/.test(w.message) && w.detail?.kind === 'Service'));
    assert.equal(h.server.recordedLists('services').length, 1, 'the watchdog re-watches, it does not relist');
  } finally {
    await h.close();
  }
});

test('a watch that hangs right after its headers is replaced too', async () => {
  const h = await harness({ inactivityTimeoutMs: 300 });
  try {
    h.server.hangNextWatches(3);
    await syncedWith(h, ['a']).catch(() => undefined);
    await h.source.synced(8000);
    h.server.create('services', service('b'));
    await waitFor('b after hang', () => h.rec.names('Service').includes('default/b'));
    assert.ok(h.server.recordedWatches('services').length >= 2);
  } finally {
    await h.close();
  }
});

test('a list that never answers is abandoned at the list timeout and retried', async () => {
  const h = await harness({ listTimeoutMs: 500 });
  try {
    h.server.hangNextLists('services', 1);
    h.server.create('services', service('a'));
    h.source.start(h.rec);
    await h.source.synced(8000);
    assert.deepEqual(h.rec.names('Service'), ['default/a']);
    assert.ok(
      h.rec.warnings.some((w) => w.detail?.kind === 'Service' && /retrying/.test(w.message)),
      'the hung list was reported',
    );
    assert.ok(h.server.recordedLists('services').length >= 2);
  } finally {
    await h.close();
  }
});

test('500s are retried with exponential backoff and jitter, capped', async () => {
  const h = await harness({ backoffInitialMs: 20, backoffMaxMs: 100, random: () => 1 });
  try {
    h.server.failNext(5, 500, '/api/v1/services');
    h.server.create('services', service('a'));
    h.source.start(h.rec);
    await h.source.synced(8000);
    const delays = h.rec.warnings.filter((w) => w.detail?.resource === 'services').map((w) => w.detail?.delayMs);
    assert.deepEqual(delays, [20, 40, 80, 100, 100]);
    assert.ok(h.rec.warnings.every((w) => w.detail?.resource !== 'services' || w.detail?.statusCode === 500));
    const lists = h.server.recordedLists('services').map((r) => r.at);
    for (let i = 1; i < lists.length; i++) assert.ok(lists[i] - lists[i - 1] >= [20, 40, 80, 100, 100][i - 1] - 2, `gap ${i}`);
    assert.deepEqual(h.rec.names('Service'), ['default/a']);
  } finally {
    await h.close();
  }
});

test('jitter spreads retries below the ceiling', async () => {
  const h = await harness({ backoffInitialMs: 40, backoffMaxMs: 1000, random: () => 0 });
  try {
    h.server.failNext(2, 500, '/api/v1/services');
    h.source.start(h.rec);
    await h.source.synced(8000);
    const delays = h.rec.warnings.filter((w) => w.detail?.resource === 'services').map((w) => w.detail?.delayMs);
    assert.deepEqual(delays, [20, 40]);
  } finally {
    await h.close();
  }
});

for (const fault of ['partial', 'truncated'] as const) {
  test(`a ${fault} relist never empties the state; the next complete list is applied`, async () => {
    const h = await harness({ pageSize: 500 });
    try {
      await syncedWith(h, ['a', 'b', 'c', 'd']);
      h.server.hangWatches();
      h.server.nextList('services', fault);
      h.server.delete('services', 'default', 'd');
      h.server.compact();
      h.server.expireWatches();
      await waitFor('complete relist', () => h.rec.names('Service').length === 3);
      assert.deepEqual(deletes(h), ['d'], 'only what really vanished is deleted');
      assert.ok(h.rec.warnings.some((w) => w.detail?.resource === 'services' && /retrying/.test(w.message)));
      assert.ok(h.server.recordedLists('services').length >= 3);
    } finally {
      await h.close();
    }
  });
}

test('a failing relist emits nothing until a list succeeds', async () => {
  const h = await harness({ backoffInitialMs: 50, backoffMaxMs: 50 });
  try {
    await syncedWith(h, ['a', 'b']);
    const before = h.rec.events().length;
    h.server.failNext(4, 500, '/api/v1/services');
    h.server.compact();
    h.server.expireWatches();
    await waitFor('failures consumed', () => h.rec.warnings.filter((w) => w.detail?.statusCode === 500).length >= 3);
    assert.equal(h.rec.events().length, before, 'no event while lists fail');
    h.server.create('services', service('new'));
    await waitFor('recovered', () => h.rec.names('Service').length === 3);
    assert.deepEqual(deletes(h), []);
  } finally {
    await h.close();
  }
});

test('an empty relist while services are known deletes nothing; the confirming list is applied', async () => {
  const h = await harness({ emptyListConfirmMs: 300 });
  try {
    await syncedWith(h, ['a', 'b']);
    h.server.nextList('services', 'empty');
    h.server.compact();
    h.server.expireWatches();
    await waitFor('the empty list reported', () => h.rec.warnings.some((w) => /services: the list came back empty while 2 are known/.test(w.message)));
    h.server.create('services', service('c'));
    await waitFor('the confirming list applied', () => h.rec.names('Service').length === 3);
    assert.deepEqual(deletes(h), [], 'nothing deleted because of the empty list');
  } finally {
    await h.close();
  }
});

test('an empty list confirmed by a second one is believed: everything is deleted', async () => {
  const h = await harness({ emptyListConfirmMs: 300 });
  try {
    await syncedWith(h, ['a', 'b']);
    h.server.hangWatches();
    h.server.delete('services', 'default', 'a');
    h.server.delete('services', 'default', 'b');
    h.server.compact();
    h.server.expireWatches();
    await waitFor('emptied', () => h.rec.names('Service').length === 0);
    assert.deepEqual(deletes(h), ['a', 'b']);
    assert.equal(h.rec.warnings.filter((w) => /came back empty/.test(w.message)).length, 1, 'believed at the second empty list');
  } finally {
    await h.close();
  }
});

test('an API server restart is survived: watches come back and carry on', async () => {
  const h = await harness();
  try {
    await syncedWith(h, ['a']);
    await h.server.restart();
    await waitFor('watches back', () => h.server.openWatchCount() === 3);
    h.server.create('services', service('after-restart'));
    await waitFor('after-restart', () => h.rec.names('Service').includes('default/after-restart'));
    assert.deepEqual(deletes(h), []);
  } finally {
    await h.close();
  }
});

test('stop() ends every watch and no event follows', async () => {
  const h = await harness();
  try {
    await syncedWith(h, ['a']);
    await h.source.stop();
    await waitFor('watches closed', () => h.server.openWatchCount() === 0);
    const n = h.rec.events().length;
    h.server.create('services', service('late'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.rec.events().length, n);
  } finally {
    await h.close();
  }
});
