import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeRecord, emptyRecord, FileStateStore, readStateRecord, STATE_FILE } from '../../../src/proxier/state-record.js';
import { seed } from './helpers.js';

test('file store: missing, saved atomically, read back; corrupt is reported, not thrown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'state-'));
  try {
    const store = new FileStateStore(join(dir, 'nested'));
    assert.deepEqual(await store.load(), { record: undefined });
    const record = composeRecord(['TCP/10.96.0.10/80'], ['10.96.0.10'], seed(), undefined);
    await store.save(record);
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

test('composeRecord keeps names of keys no longer desired from the previous record', () => {
  const first = composeRecord(['TCP/10.96.0.10/80'], [], seed(), undefined);
  const later = composeRecord(['TCP/10.96.0.10/80', 'TCP/10.96.0.99/80'], ['10.96.0.99'], undefined, first);
  assert.deepEqual(later.virtualServers['TCP/10.96.0.10/80'], first.virtualServers['TCP/10.96.0.10/80']);
  assert.deepEqual(later.virtualServers['TCP/10.96.0.99/80'], { reals: {} });
  assert.deepEqual(emptyRecord(), { version: 1, virtualServers: {}, addresses: [] });
});
