import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SvcFlag } from '../../../src/vocabulary/ipvs.js';
import { tableJson, STATUS_JSON_SCHEMA_VERSION } from '../../../src/status/json-view.js';
import { formatNamedList, ownedEntries } from '../../../src/status/names-view.js';
import { ownershipFromDesired } from '../../../src/status/ownership.js';
import { entry, proto, real, stats, tcp } from './builders.js';
import { desiredState } from './ownership.js';

const info = { version: '1.2.1', connTableSize: 4096 };
const record = ownershipFromDesired(desiredState());

// The kernel's view: the apiserver VS, the DNS VS (written differently, same address), the NodePort
// VS whose Route real server the kernel moved to the service port, and a foreign VS.
const kernel = [
  entry(tcp('10.96.0.1', 443), [real('10.0.0.5', 6443), real('10.0.0.9', 6443)]),
  entry(proto('UDP', 'fd00:10:96::a', 53, { flags: SvcFlag.PERSISTENT, timeout: 300 }), [real('fd00:10:244::5', 53)]),
  entry(tcp('192.168.1.10', 30080), [real('10.244.1.7', 30080, { forward: 'route' })]),
  entry(tcp('10.200.0.1', 80), [real('10.200.1.1', 80)]),
];

test('--names: owner and kind per service, pod and node per real, foreign marked', () => {
  const out = formatNamedList(info, kernel, record, { view: 'list', exact: false, sort: true }).split('\n');
  assert.deepEqual(out.slice(3), [
    'TCP  192.168.1.10:30080 rr  # shop/web:http NodePort',
    '  -> 10.244.1.7:30080             Route   1      0          0           # pod default/web-1 node node-b',
    'TCP  10.96.0.1:443 rr  # default/kubernetes:https ClusterIP',
    '  -> 10.0.0.5:6443                Masq    1      0          0           # pod default/apiserver-a node node-a',
    '  -> 10.0.0.9:6443                Masq    1      0          0           # not yet in the agent record',
    'TCP  10.200.0.1:80 rr  # not ours',
    '  -> 10.200.1.1:80                Masq    1      0          0         ',
    'UDP  [fd00:10:96::a]:53 rr persistent 300  # kube-system/kube-dns:53 ClusterIP',
    '  -> [fd00:10:244::5]:53          Masq    1      0          0           # pod default/coredns-1 node node-b',
    '',
  ]);
});

test('--owned keeps only what the record has', () => {
  assert.deepEqual(
    ownedEntries(kernel, record).map((e) => e.service.port),
    [443, 53, 30080],
  );
});

test('--json: versioned schema, counters as strings, owners and pods when a record is given', () => {
  const withStats = [entry(tcp('10.96.0.1', 443, { stats: stats({ inbytes: 2n ** 63n }) }), [real('10.0.0.5', 6443)])];
  const doc = JSON.parse(tableJson(info, withStats, record, true)) as {
    schemaVersion: number;
    kind: string;
    ipvs: { version: string };
    virtualServers: Array<Record<string, unknown> & { stats: Record<string, string>; realServers: Array<Record<string, unknown>> }>;
  };
  assert.equal(doc.schemaVersion, STATUS_JSON_SCHEMA_VERSION);
  assert.equal(doc.kind, 'table');
  assert.equal(doc.ipvs.version, '1.2.1');
  const vs = doc.virtualServers[0];
  assert.equal(vs.address, '10.96.0.1');
  assert.equal(vs.protocol, 'TCP');
  assert.equal(vs.fwmark, null);
  assert.equal(vs.owned, true);
  assert.deepEqual(vs.owner, { namespace: 'default', name: 'kubernetes', portName: 'https', kind: 'ClusterIP' });
  assert.equal(vs.stats.inBytes, '9223372036854775808');
  assert.deepEqual(vs.realServers[0].pod, { namespace: 'default', name: 'apiserver-a' });
  assert.equal(vs.realServers[0].nodeName, 'node-a');
  assert.equal(vs.realServers[0].tunnel, null);
});

test('--json without a record has no ownership fields', () => {
  const doc = JSON.parse(tableJson(info, kernel, undefined, true)) as { virtualServers: Array<Record<string, unknown>> };
  assert.equal('owned' in doc.virtualServers[0], false);
  assert.equal(doc.virtualServers.length, 4);
  assert.equal(doc.virtualServers[3].address, 'fd00:10:96::a');
});

test('--names from the agent record agrees with the desired state: an endpoint without targetRef is known, with no pod', async () => {
  const { recordEntryText, recordText, parseRecord } = await import('../../../src/proxier/state-record.js');
  const { ownershipFromRecord } = await import('../../../src/cli/status-command.js');
  const state = desiredState();
  const api = state.virtualServers.get('TCP/10.96.0.1/443')!;
  // A hand-made EndpointSlice: no targetRef, no nodeName.
  const bare = { ...api, reals: [...api.reals, { ...api.reals[0], address: '10.0.0.9', pod: undefined, nodeName: undefined }] };
  const text = recordText([['TCP/10.96.0.1/443', recordEntryText(bare)]], ['10.96.0.1']);
  const fromRecord = ownershipFromRecord(parseRecord(text, 'state.json'));
  const fromDesired = ownershipFromDesired({ virtualServers: new Map([['TCP/10.96.0.1/443', bare]]), addresses: new Map() });
  const apiKernel = [kernel[0]];
  const viaRecord = formatNamedList(info, apiKernel, fromRecord, { view: 'list', exact: false, sort: true });
  assert.equal(viaRecord, formatNamedList(info, apiKernel, fromDesired, { view: 'list', exact: false, sort: true }));
  assert.match(viaRecord, /10\.0\.0\.9:6443 .*# no pod$/m);
  assert.doesNotMatch(viaRecord, /agent record/);
});

test('--names: a VIP made local by a route (not an address) says so; NodePorts and foreign ones do not', () => {
  const localBy = new Map([
    ['10.96.0.1', 'route'],
    ['fd00:10:96::a', 'route+address'],
    ['10.200.0.1', 'route'],
  ]);
  const out = formatNamedList(info, kernel, record, { view: 'list', exact: false, sort: true }, localBy).split('\n');
  assert.deepEqual(
    out.slice(3).filter((l) => !l.startsWith('  ->')),
    [
      'TCP  192.168.1.10:30080 rr  # shop/web:http NodePort',
      'TCP  10.96.0.1:443 rr  # default/kubernetes:https ClusterIP, VIP local by route',
      'TCP  10.200.0.1:80 rr  # not ours',
      'UDP  [fd00:10:96::a]:53 rr persistent 300  # kube-system/kube-dns:53 ClusterIP, VIP local by route+address',
      '',
    ],
  );
});
