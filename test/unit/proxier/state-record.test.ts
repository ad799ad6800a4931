import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  emptyRecord,
  FileStateStore,
  readStateRecord,
  recordEntryText,
  recordText,
  serializeRecord,
  STATE_FILE,
  type StateRecord,
} from '../../../src/proxier/state-record.js';
import { seed } from './helpers.js';

test('file store: missing, saved atomically, read back; corrupt is reported, not thrown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'state-'));
  try {
    const store = new FileStateStore(join(dir, 'nested'));
    assert.deepEqual(await store.load(), { record: undefined });
    const record: StateRecord = { ...emptyRecord(), virtualServers: { 'TCP/10.96.0.10/80': webEntry() }, addresses: ['10.96.0.10'] };
    await store.save(serializeRecord(record));
    assert.deepEqual(await readdir(join(dir, 'nested')), [STATE_FILE], 'no temp file left behind');
    assert.deepEqual((await store.load()).record, record);
    assert.deepEqual(await readStateRecord(join(dir, 'nested')), record);
    assert.equal(JSON.parse(await readFile(store.path, 'utf8')).virtualServers['TCP/10.96.0.10/80'].reals['10.244.1.1/9376'].pod, 'default/web-1');
    await writeFile(store.path, '{"version": 1, "virtualServers": ');
    const corrupt = await store.load();
    assert.equal(corrupt.record, undefined);
    assert.match(corrupt.corrupt ?? '', /not JSON/);
    await writeFile(store.path, JSON.stringify({ version: 2, virtualServers: {}, addresses: [] }));
    assert.match((await store.load()).corrupt ?? '', /version/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function webEntry(): StateRecord['virtualServers'][string] {
  return JSON.parse(recordEntryText(seed().virtualServers.get('TCP/10.96.0.10/80')!));
}

test('recordEntryText: the owner and the pod and node names of the real servers, by real server key', () => {
  const entry = webEntry();
  assert.deepEqual(entry.owner, { namespace: 'default', name: 'web', portName: 'http', kind: 'ClusterIP' });
  assert.equal(entry.reals['10.244.1.1/9376']?.pod, 'default/web-1');
  assert.deepEqual(emptyRecord(), { version: 1, virtualServers: {}, addresses: [] });
});

test('recordEntryText: the same text as the entry built as an object and stringified', () => {
  const want = seed().virtualServers.get('TCP/10.96.0.10/80')!;
  const reals = [
    { ...want.reals[0], pod: { namespace: 'default', name: 'quote"and\\back' }, nodeName: 'node-\u00e9' },
    { ...want.reals[0], address: '10.244.9.9', pod: undefined, nodeName: 'node-b' },
    { ...want.reals[0], address: '10.244.9.8', pod: { namespace: 'ns', name: 'only-pod' }, nodeName: undefined },
    { ...want.reals[0], address: '10.244.9.7', pod: undefined, nodeName: undefined },
    // Listed twice: the key keeps its first place and takes the last names, as in an object.
    { ...want.reals[0], pod: { namespace: 'default', name: 'second' }, nodeName: undefined },
  ];
  const owner = { ...want.owner, name: 'we"b', portName: '' };
  const viaObject: Record<string, { pod?: string; node?: string }> = {};
  for (const r of reals) {
    const names: { pod?: string; node?: string } = {};
    if (r.pod) names.pod = `${r.pod.namespace}/${r.pod.name}`;
    if (r.nodeName) names.node = r.nodeName;
    viaObject[`${r.address}/${r.port}`] = names;
  }
  const expected = JSON.stringify({ owner: { namespace: owner.namespace, name: owner.name, portName: owner.portName, kind: owner.kind }, reals: viaObject });
  assert.equal(recordEntryText({ ...want, owner, reals }), expected);
  // An endpoint without names is listed too, with none: the record knows every real server.
  assert.deepEqual(Object.keys(JSON.parse(expected).reals), ['10.244.1.1/9376', '10.244.9.9/9376', '10.244.9.8/9376', '10.244.9.7/9376']);
  assert.deepEqual(JSON.parse(expected).reals['10.244.9.7/9376'], {});
});

test('record text: joined from entry texts, the same bytes as the object serialised, and parsed back equal', async () => {
  const web = webEntry();
  const record: StateRecord = {
    version: 1,
    virtualServers: { 'UDP/10.96.0.10/53': { reals: {} }, 'TCP/10.96.0.10/80': web },
    addresses: ['10.96.0.2', '10.96.0.10'],
  };
  const text = recordText(
    [
      ['UDP/10.96.0.10/53', '{"reals":{}}'],
      ['TCP/10.96.0.10/80', JSON.stringify(web)],
    ],
    ['10.96.0.2', '10.96.0.10'],
  );
  assert.equal(text, serializeRecord(record));
  // Keys and addresses sorted, whatever order they came in: a rewrite of the same record is the same file.
  assert.deepEqual(Object.keys(JSON.parse(text).virtualServers), ['TCP/10.96.0.10/80', 'UDP/10.96.0.10/53']);
  assert.deepEqual(JSON.parse(text).addresses, ['10.96.0.10', '10.96.0.2']);
  const dir = await mkdtemp(join(tmpdir(), 'state-'));
  try {
    const store = new FileStateStore(dir);
    await store.save(text);
    assert.deepEqual((await store.load()).record, { ...record, addresses: ['10.96.0.10', '10.96.0.2'] });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
