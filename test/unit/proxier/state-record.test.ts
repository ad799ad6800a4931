import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyRecord, FileStateStore, readStateRecord, recordEntryFor, recordText, serializeRecord, STATE_FILE, type StateRecord } from '../../../src/proxier/state-record.js';
import { seed } from './helpers.js';

test('file store: missing, saved atomically, read back; corrupt is reported, not thrown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'state-'));
  try {
    const store = new FileStateStore(join(dir, 'nested'));
    assert.deepEqual(await store.load(), { record: undefined });
    const record: StateRecord = { ...emptyRecord(), virtualServers: { 'TCP/10.96.0.10/80': recordEntryFor('TCP/10.96.0.10/80', seed(), undefined) }, addresses: ['10.96.0.10'] };
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

test('recordEntryFor: names from the desired state; a key no longer desired keeps its previous entry', () => {
  const named = recordEntryFor('TCP/10.96.0.10/80', seed(), undefined);
  assert.equal(named.reals['10.244.1.1/9376']?.pod, 'default/web-1');
  assert.deepEqual(recordEntryFor('TCP/10.96.0.10/80', undefined, named), named);
  assert.deepEqual(recordEntryFor('TCP/10.96.0.99/80', undefined, undefined), { reals: {} });
  assert.deepEqual(emptyRecord(), { version: 1, virtualServers: {}, addresses: [] });
});

test('record text: joined from entry texts, the same bytes as the object serialised, and parsed back equal', async () => {
  const web = recordEntryFor('TCP/10.96.0.10/80', seed(), undefined);
  const record: StateRecord = { version: 1, virtualServers: { 'UDP/10.96.0.10/53': { reals: {} }, 'TCP/10.96.0.10/80': web }, addresses: ['10.96.0.2', '10.96.0.10'] };
  const text = recordText([['UDP/10.96.0.10/53', '{"reals":{}}'], ['TCP/10.96.0.10/80', JSON.stringify(web)]], ['10.96.0.2', '10.96.0.10']);
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
