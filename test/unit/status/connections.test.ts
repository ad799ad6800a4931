import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConnections, MalformedConnectionLineError, parseConnectionLine, parseConnections } from '../../../src/status/connections.js';

const HEADER = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData';

test('IPv4 lines: hex addresses and ports, expiry in seconds', () => {
  const c = parseConnectionLine('TCP 0A000001 D431 0A600001 0050 0AF40005 1F90 ESTABLISHED     899');
  assert.deepEqual(c, {
    protocol: 'TCP',
    client: '10.0.0.1:54321',
    virtual: '10.96.0.1:80',
    destination: '10.244.0.5:8080',
    state: 'ESTABLISHED',
    expiresSeconds: 899,
  });
});

test('IPv6 lines are written uncompressed by the kernel and compressed by ipvsadm', () => {
  const c = parseConnectionLine(
    'UDP fd00:0000:0000:0000:0000:0000:0000:0001 1F40 fd00:0000:0000:0000:0000:0000:0000:0050 1B58 fd00:0000:0000:0000:0000:0000:0000:0050 1B59 NONE            299',
  );
  assert.equal(c.client, '[fd00::1]:8000');
  assert.equal(c.virtual, '[fd00::50]:7000');
  assert.equal(c.destination, '[fd00::50]:7001');
});

test('persistence engine columns are kept when present', () => {
  const c = parseConnectionLine('UDP 0A600034 13C4 0A600034 13C4 0A600034 13C5 NONE             59 sip status-test-1');
  assert.equal(c.peName, 'sip');
  assert.equal(c.peData, 'status-test-1');
});

test('the listing: header, mm:ss expiry, padded columns', () => {
  const text = [HEADER, 'TCP 0A000001 D431 0A600001 0050 0AF40005 1F90 ESTABLISHED     899', ''].join('\n');
  assert.equal(
    formatConnections(parseConnections(text), false),
    [
      'IPVS connection entries',
      'pro expire state       source             virtual            destination',
      'TCP 14:59  ESTABLISHED 10.0.0.1:54321     10.96.0.1:80       10.244.0.5:8080',
      '',
    ].join('\n'),
  );
});

test('--persistent-conn adds the engine columns, only on lines that have them', () => {
  const text = [
    HEADER,
    'UDP 0A600034 13C4 0A600034 13C4 0A600034 13C5 NONE             59 sip status-test-1',
    'UDP 0A600032 13C4 0A600032 1B58 0A600032 1B59 NONE           6001',
  ].join('\n');
  assert.equal(
    formatConnections(parseConnections(text), true),
    [
      'IPVS connection entries',
      'pro expire state       source             virtual            destination        pe name          pe_data',
      'UDP 00:59  NONE        10.96.0.52:5060    10.96.0.52:5060    10.96.0.52:5061  sip                status-test-1',
      'UDP 100:01 NONE        10.96.0.50:5060    10.96.0.50:7000    10.96.0.50:7001',
      '',
    ].join('\n'),
  );
});

test('an empty table is the two header lines', () => {
  assert.equal(formatConnections(parseConnections(`${HEADER}\n`), false).split('\n').length, 3);
});

test('a truncated line is a typed error', () => {
  assert.throws(() => parseConnectionLine('TCP 0A000001 D431'), MalformedConnectionLineError);
});
