import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { Recorder, scratchDir, waitFor } from './helpers.js';

const SVC = (name: string, extra = '') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
${extra}spec:
  clusterIP: 10.0.1.175
  ports:
  - name: http
    port: 80
    targetPort: 9376
`;

const SLICE = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: hostnames-abc
  namespace: default
  labels:
    kubernetes.io/service-name: hostnames
addressType: IPv4
endpoints:
- addresses: [10.244.1.7]
  conditions: {ready: true}
ports:
- {name: http, port: 9376, protocol: TCP}
`;

const LIST = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: listed-a, namespace: team}
  spec: {clusterIP: 10.0.2.1, ports: [{port: 53, protocol: UDP}]}
- apiVersion: v1
  kind: Service
  metadata: {name: listed-b, namespace: team}
  spec: {ports: [{port: 443}]}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: ignored}
metadata: {resourceVersion: ""}
`;

const NODES = JSON.stringify(
  {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'z1' } } },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-b' } },
    ],
  },
  null,
  2,
);

const ENDPOINTS = `apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: default}
subsets:
- addresses: [{ip: 10.244.5.1}]
  notReadyAddresses: [{ip: 10.244.5.2}]
  ports: [{name: http, port: 8080}]
`;

async function started(path: string, opts: Partial<ConstructorParameters<typeof ManifestSource>[0]> = {}) {
  const source = new ManifestSource({ path, debounceMs: 20, pollIntervalMs: 100, ...opts });
  const rec = new Recorder();
  source.start(rec);
  await source.synced(5000);
  return { source, rec };
}

test('a directory of mixed files: multi-document YAML, kind: List, JSON, Endpoints; other files ignored', async () => {
  const d = scratchDir();
  const s = await (async () => {
    writeFileSync(d.path('10-hostnames.yaml'), SVC('hostnames') + '---\n' + SLICE + '---\n');
    writeFileSync(d.path('20-list.yml'), LIST);
    writeFileSync(d.path('30-nodes.json'), NODES);
    writeFileSync(d.path('40-legacy.yaml'), SVC('legacy') + '---\n' + ENDPOINTS);
    writeFileSync(d.path('notes.txt'), 'kind: Service\n');
    writeFileSync(d.path('.hidden.yaml'), SVC('hidden'));
    return started(d.dir, { nodeName: 'node-a' });
  })();
  try {
    const keys = s.rec.keys();
    const legacySlices = keys.filter((k) => k.startsWith('EndpointSlice/default/legacy-'));
    assert.equal(legacySlices.length, 1);
    assert.deepEqual(
      keys.filter((k) => !k.startsWith('EndpointSlice/default/legacy-')),
      [
        'EndpointSlice/default/hostnames-abc',
        'Node//node-a',
        'Service/default/hostnames',
        'Service/default/legacy',
        'Service/team/listed-a',
        'Service/team/listed-b',
      ],
    );
    assert.equal(s.rec.batches.length, 1, 'the first load is one batch');
    const mirrored = s.rec.state().get(legacySlices[0]) as V1EndpointSlice;
    assert.deepEqual(
      mirrored.endpoints.map((e) => [e.addresses[0], e.conditions?.ready]),
      [
        ['10.244.5.1', true],
        ['10.244.5.2', false],
      ],
    );
    assert.equal(mirrored.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
    const noIp = s.rec.state().get('Service/team/listed-b') as V1Service;
    assert.equal(noIp.spec?.clusterIP, undefined, 'a missing clusterIP is never invented');
    assert.deepEqual(s.rec.warnings, []);
    assert.deepEqual(s.source.resourceVersions(), { services: '', endpointSlices: '' });
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('a broken file keeps its last good objects, names file and line, and recovers when fixed', async () => {
  const d = scratchDir();
  writeFileSync(d.path('a.yaml'), SVC('a'));
  writeFileSync(d.path('b.yaml'), SVC('b'));
  const s = await started(d.dir);
  try {
    assert.deepEqual(s.rec.keys(), ['Service/default/a', 'Service/default/b']);
    writeFileSync(d.path('b.yaml'), SVC('b') + '  - name: broken\n   port: [81\n');
    await waitFor('syntax warning', () => s.rec.warnings.length > 0);
    const w = s.rec.warnings[0];
    assert.match(w.message, new RegExp(`${d.path('b.yaml').replace(/[.]/g, '\\.')}:1[0-2]:\\d+: `));
    assert.match(w.message, /keeping its last good 1 object/);
    assert.equal(w.detail?.file, d.path('b.yaml'));
    assert.equal(typeof w.detail?.line, 'number');
    assert.deepEqual(s.rec.keys(), ['Service/default/a', 'Service/default/b']);
    const eventsBefore = s.rec.events().length;
    await s.source.reload();
    assert.equal(s.rec.warnings.length, 1, 'the same broken version is reported once');
    assert.equal(s.rec.events().length, eventsBefore);
    writeFileSync(d.path('b.yaml'), SVC('b2'));
    await waitFor('recovered', () => s.rec.keys().join() === 'Service/default/a,Service/default/b2');
    const last = s.rec.batches.at(-1)!;
    assert.deepEqual(last.map((e) => `${e.type} ${e.type === 'delete' ? e.name : e.object.metadata?.name}`).sort(), ['delete b', 'upsert b2']);
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('a file broken from the start loads nothing of its own and warns; the others load', async () => {
  const d = scratchDir();
  writeFileSync(d.path('good.yaml'), SVC('good'));
  writeFileSync(d.path('bad.json'), '{\n  "apiVersion": "v1",\n  "kind": "Service",,\n}\n');
  const s = await started(d.dir);
  try {
    assert.deepEqual(s.rec.keys(), ['Service/default/good']);
    assert.equal(s.rec.warnings.length, 1);
    assert.match(s.rec.warnings[0].message, /bad\.json:3:\d+: .*nothing loaded from it/);
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('objects failing shape checks are skipped with file, line, kind, name and field', async () => {
  const d = scratchDir();
  writeFileSync(
    d.path('svc.yaml'),
    SVC('fine') + '---\n' + SVC('bad-port').replace('port: 80', 'port: "80"') + '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: x}\nspec: {}\n',
  );
  const s = await started(d.dir);
  try {
    assert.deepEqual(s.rec.keys(), ['Service/default/fine']);
    assert.equal(s.rec.warnings.length, 2);
    assert.match(s.rec.warnings[0].message, /svc\.yaml:12: skipping Service bad-port: field spec\.ports\.0\.port: /);
    assert.deepEqual(
      { ...s.rec.warnings[0].detail, file: undefined },
      { file: undefined, line: 12, kind: 'Service', name: 'bad-port', field: 'spec.ports.0.port' },
    );
    assert.match(s.rec.warnings[1].message, /svc\.yaml:23: skipping Service \?: field metadata\.name: /);
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('changes are picked up: edit, new file, removed file (once its absence is confirmed), each as a diff', async () => {
  const d = scratchDir();
  writeFileSync(d.path('a.yaml'), SVC('a'));
  const s = await started(d.dir, { vanishedConfirmMs: 400 });
  try {
    writeFileSync(d.path('a.yaml'), SVC('a').replace('port: 80', 'port: 8080'));
    await waitFor('edit', () => (s.rec.state().get('Service/default/a') as V1Service).spec?.ports?.[0].port === 8080);
    assert.equal(s.rec.batches.at(-1)!.length, 1);
    writeFileSync(d.path('b.yaml'), SVC('b'));
    await waitFor('new file', () => s.rec.keys().includes('Service/default/b'));
    rmSync(d.path('a.yaml'));
    const removedAt = Date.now();
    await waitFor('the vanished file reported', () => s.source.problem()?.includes('a.yaml vanished') === true);
    assert.ok(s.rec.keys().includes('Service/default/a'), 'kept while not confirmed');
    await waitFor('removed file', () => !s.rec.keys().includes('Service/default/a'));
    assert.ok(Date.now() - removedAt >= 400, 'deleted only after the confirmation delay');
    assert.equal(s.source.problem(), undefined);
    assert.deepEqual(s.rec.batches.at(-1), [{ kind: 'Service', type: 'delete', namespace: 'default', name: 'a' }]);
    const n = s.rec.events().length;
    await s.source.reload();
    assert.equal(s.rec.events().length, n, 'an unchanged reload emits nothing');
    // Written again with other bytes but the same objects: parsed again, nothing passed on.
    writeFileSync(d.path('b.yaml'), `# the same Service\n${SVC('b')}`);
    await new Promise((r) => setTimeout(r, 400));
    await s.source.reload();
    assert.equal(s.rec.events().length, n, 'a file rewritten with the same objects emits nothing');
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('a single file path works and is watched', async () => {
  const d = scratchDir();
  const file = d.path('only.yaml');
  writeFileSync(file, SVC('one'));
  writeFileSync(d.path('sibling.yaml'), SVC('sibling'));
  const s = await started(file);
  try {
    assert.deepEqual(s.rec.keys(), ['Service/default/one']);
    writeFileSync(file, SVC('one') + '---\n' + SVC('two'));
    await waitFor('two', () => s.rec.keys().includes('Service/default/two'));
    assert.ok(!s.rec.keys().includes('Service/default/sibling'));
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('the proxy label selectors apply to manifests too', async () => {
  const d = scratchDir();
  const labelled = (name: string, labels: string) => SVC(name, `  labels: {${labels}}\n`);
  writeFileSync(
    d.path('svc.yaml'),
    [
      SVC('plain'),
      labelled('mine', '"service.kubernetes.io/service-proxy-name": ipvs'),
      labelled('headless', '"service.kubernetes.io/headless": ""'),
      labelled('mine-headless', '"service.kubernetes.io/service-proxy-name": ipvs, "service.kubernetes.io/headless": ""'),
    ].join('---\n'),
  );
  const byDefault = await started(d.dir);
  const named = await started(d.dir, { serviceProxyName: 'ipvs' });
  try {
    assert.deepEqual(byDefault.rec.keys(), ['Service/default/plain']);
    assert.deepEqual(named.rec.keys(), ['Service/default/mine']);
  } finally {
    await byDefault.source.stop();
    await named.source.stop();
    d.remove();
  }
});

test('oversized files are refused with a clear warning; duplicates warn once', async () => {
  const d = scratchDir();
  writeFileSync(d.path('a.yaml'), SVC('dup'));
  writeFileSync(d.path('b.yaml'), SVC('dup').replace('port: 80', 'port: 81'));
  writeFileSync(d.path('big.yaml'), SVC('big') + '#'.repeat(2000) + '\n');
  const s = await started(d.dir, { maxFileBytes: 1024 });
  try {
    assert.deepEqual(s.rec.keys(), ['Service/default/dup']);
    assert.equal((s.rec.state().get('Service/default/dup') as V1Service).spec?.ports?.[0].port, 81, 'the later file wins');
    const msgs = s.rec.warnings.map((w) => w.message);
    assert.ok(
      msgs.some((m) => /big\.yaml is \d+ bytes, over the limit of 1024/.test(m)),
      msgs.join('\n'),
    );
    assert.ok(msgs.some((m) => /Service\/default\/dup is defined more than once; the one in .*b\.yaml wins/.test(m)));
    const n = s.rec.warnings.length;
    await s.source.reload();
    assert.equal(s.rec.warnings.length, n);
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('a missing path warns once, loads nothing, and is picked up when it appears', async () => {
  const d = scratchDir();
  const file = d.path('later.yaml');
  const s = await started(file);
  try {
    assert.deepEqual(s.rec.keys(), []);
    assert.equal(s.rec.warnings.length, 1);
    assert.match(s.rec.warnings[0].message, /cannot read .*later\.yaml/);
    await s.source.reload();
    assert.equal(s.rec.warnings.length, 1);
    writeFileSync(file, SVC('late'));
    await waitFor('appeared', () => s.rec.keys().includes('Service/default/late'));
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('a directory that vanishes and comes back within the confirmation delay deletes nothing; one still gone after it is believed, with the count', async () => {
  const d = scratchDir();
  const dir = d.path('manifests');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.yaml'), SVC('a') + '---\n' + SVC('b'));
  const s = await started(dir, { vanishedConfirmMs: 500 });
  try {
    assert.deepEqual(s.rec.keys(), ['Service/default/a', 'Service/default/b']);
    renameSync(dir, d.path('moved'));
    await waitFor('the vanished directory reported', () => s.source.problem() !== undefined);
    assert.match(s.source.problem()!, /a\.yaml vanished/);
    renameSync(d.path('moved'), dir);
    await new Promise((r) => setTimeout(r, 900));
    assert.deepEqual(s.rec.keys(), ['Service/default/a', 'Service/default/b'], 'back in time: nothing deleted');
    assert.ok(!s.rec.events().some((e) => e.type === 'delete'));
    assert.equal(s.source.problem(), undefined);
    rmSync(dir, { recursive: true });
    await waitFor('deleted once confirmed', () => s.rec.keys().length === 0);
    assert.ok(
      s.rec.warnings.some((w) => /a\.yaml still gone after 0\.5 s: deleting its 2 object\(s\)/.test(w.message)),
      JSON.stringify(s.rec.warnings),
    );
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('a file emptied to zero bytes is held like a vanished one: refilled in time deletes nothing, still empty after the delay is believed; an empty List at once', async () => {
  const d = scratchDir();
  const dir = d.path('manifests');
  mkdirSync(dir);
  const file = join(dir, 'a.yaml');
  writeFileSync(file, SVC('a') + '---\n' + SVC('b'));
  const s = await started(dir, { vanishedConfirmMs: 500 });
  try {
    writeFileSync(file, '');
    await waitFor('the emptied file reported', () => s.source.problem() !== undefined);
    assert.ok(
      s.rec.warnings.some((w) => /a\.yaml is empty; keeping its 2 object\(s\) until a read in 0\.5 s confirms it/.test(w.message)),
      JSON.stringify(s.rec.warnings),
    );
    writeFileSync(file, SVC('a') + '---\n' + SVC('b'));
    await new Promise((r) => setTimeout(r, 900));
    assert.deepEqual(s.rec.keys(), ['Service/default/a', 'Service/default/b'], 'refilled in time: nothing deleted');
    assert.ok(!s.rec.events().some((e) => e.type === 'delete'));
    assert.equal(s.source.problem(), undefined);

    writeFileSync(file, '');
    await waitFor('deleted once confirmed', () => s.rec.keys().length === 0);
    assert.ok(
      s.rec.warnings.some((w) => /a\.yaml still empty after 0\.5 s: deleting its 2 object\(s\)/.test(w.message)),
      JSON.stringify(s.rec.warnings),
    );

    writeFileSync(file, SVC('a'));
    await waitFor('a back', () => s.rec.keys().length === 1);
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    const saidAt = Date.now();
    await waitFor('an empty List believed', () => s.rec.keys().length === 0);
    assert.ok(Date.now() - saidAt < 500, 'believed before the confirmation delay');
  } finally {
    await s.source.stop();
    d.remove();
  }
});

test('the first read says how far it has got, file by file: files parsed and objects so far', async () => {
  const d = scratchDir();
  try {
    writeFileSync(d.path('a.yaml'), `${SVC('a')}---\n${SVC('b')}`);
    writeFileSync(d.path('b.yaml'), SVC('c'));
    writeFileSync(d.path('c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    const progress: string[] = [];
    const rec = new Recorder();
    const src = new ManifestSource({ path: d.dir, debounceMs: 20, pollIntervalMs: 100 });
    src.start({ onEvents: (e) => rec.onEvents(e), onWarning: (m, x) => rec.onWarning(m, x), onProgress: (s) => progress.push(s) });
    await src.synced(5000);
    assert.deepEqual(progress, [
      'manifests: 1 of 3 files parsed, 2 objects',
      'manifests: 2 of 3 files parsed, 3 objects',
      'manifests: 3 of 3 files parsed, 3 objects',
    ]);
    await src.stop();
  } finally {
    d.remove();
  }
});
