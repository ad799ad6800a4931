// The fixture API server itself, over plain fetch: what the source tests rely on must hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FixtureApiServer } from '../../fixtures/apiserver/server.js';

interface ListBody {
  metadata: { resourceVersion: string; continue?: string };
  items: Array<{ metadata: { name: string } }>;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as T };
}

/** Reads watch lines until n have arrived or the deadline passes. */
async function readWatch(
  url: string,
  n: number,
  timeoutMs = 3000,
): Promise<Array<{ type: string; object: { metadata: { name?: string; resourceVersion: string }; code?: number } }>> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const out: Array<{ type: string; object: { metadata: { name?: string; resourceVersion: string }; code?: number } }> = [];
  try {
    const r = await fetch(url, { signal: ac.signal });
    let buf = '';
    const decoder = new TextDecoder();
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        out.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
        if (out.length >= n) return out;
      }
    }
    return out;
  } catch (err) {
    if (ac.signal.aborted) return out;
    throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check();) {
    assert.ok(Date.now() < deadline, `condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const svc = (name: string, labels?: Record<string, string>) => ({ metadata: { name, namespace: 'default', labels }, spec: { ports: [{ port: 80 }] } });

test('lists page over a consistent snapshot and honour label and field selectors', async () => {
  const s = await FixtureApiServer.start();
  try {
    for (const n of ['a', 'b', 'c']) s.create('services', svc(n));
    s.create('services', svc('x', { 'service.kubernetes.io/headless': '' }));
    const first = await getJson<ListBody>(`${s.url}/api/v1/services?limit=2&labelSelector=${encodeURIComponent('!service.kubernetes.io/headless')}`);
    assert.deepEqual(
      first.body.items.map((i) => i.metadata.name),
      ['a', 'b'],
    );
    s.create('services', svc('d'));
    const second = await getJson<ListBody>(`${s.url}/api/v1/services?limit=2&continue=${first.body.metadata.continue}`);
    assert.deepEqual(
      second.body.items.map((i) => i.metadata.name),
      ['c'],
    );
    assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
    const byName = await getJson<ListBody>(`${s.url}/api/v1/namespaces/default/services?fieldSelector=metadata.name%3Dd`);
    assert.deepEqual(
      byName.body.items.map((i) => i.metadata.name),
      ['d'],
    );
    s.expireContinueTokens();
    const expired = await getJson<{ code: number; reason: string }>(`${s.url}/api/v1/services?limit=2&continue=${first.body.metadata.continue}`);
    assert.equal(expired.status, 410);
    assert.equal(expired.body.reason, 'Expired');
  } finally {
    await s.close();
  }
});

test('watches replay from a resourceVersion, report selector transitions, send bookmarks and 410', async () => {
  const s = await FixtureApiServer.start();
  try {
    const rv = String(s.store.currentRv());
    s.create('services', svc('a'));
    s.update('services', svc('a', { 'service.kubernetes.io/headless': '' }));
    s.update('services', svc('a'));
    const sel = encodeURIComponent('!service.kubernetes.io/headless');
    const events = await readWatch(`${s.url}/api/v1/services?watch=true&resourceVersion=${rv}&labelSelector=${sel}`, 3);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'DELETED', 'ADDED'],
    );
    await until(() => s.openWatchCount('services') === 0);
    const pending = readWatch(`${s.url}/api/v1/services?watch=true&resourceVersion=${s.store.currentRv()}&allowWatchBookmarks=true`, 1);
    await until(() => s.openWatchCount('services') === 1);
    s.sendBookmarks();
    const [bm] = await pending;
    assert.equal(bm.type, 'BOOKMARK');
    assert.equal(bm.object.metadata.resourceVersion, String(s.store.currentRv()));
    s.compact();
    const [gone] = await readWatch(`${s.url}/api/v1/services?watch=true&resourceVersion=${rv}`, 1);
    assert.equal(gone.type, 'ERROR');
    assert.equal(gone.object.code, 410);
  } finally {
    await s.close();
  }
});

test('events accept POST, merge patch and JSON patch', async () => {
  const s = await FixtureApiServer.start();
  try {
    const post = await fetch(`${s.url}/apis/events.k8s.io/v1/namespaces/ns/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { generateName: 'e.' }, reason: 'R', note: 'n', series: { count: 1 } }),
    });
    assert.equal(post.status, 201);
    const created = (await post.json()) as { metadata: { name: string } };
    const url = `${s.url}/apis/events.k8s.io/v1/namespaces/ns/events/${created.metadata.name}`;
    await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ series: { count: 2 } }) });
    await fetch(url, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'replace', path: '/note', value: 'm' }]),
    });
    const [e] = s.storedEvents();
    assert.equal(e.api, 'events.k8s.io/v1');
    assert.deepEqual((e.object as Record<string, unknown>).series, { count: 2 });
    assert.equal((e.object as Record<string, unknown>).note, 'm');
    assert.equal(e.writes, 3);
  } finally {
    await s.close();
  }
});
