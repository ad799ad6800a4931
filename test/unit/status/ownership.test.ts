import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalAddress, canonicalMap, canonicalServiceKey, lookupReal, ownerText, ownershipFromDesired } from '../../../src/status/ownership.js';
import { desiredState } from './ownership.js';

test('the record of a desired state has every virtual server with its pods and nodes', () => {
  const record = ownershipFromDesired(desiredState());
  assert.deepEqual([...record.virtualServers.keys()], ['TCP/10.96.0.1/443', 'UDP/fd00:10:96:0::a/53', 'TCP/192.168.1.10/30080']);
  assert.deepEqual(record.virtualServers.get('TCP/10.96.0.1/443')?.reals.get('10.0.0.5/6443'), {
    pod: { namespace: 'default', name: 'apiserver-a' },
    nodeName: 'node-a',
  });
});

test('keys are compared in canonical form', () => {
  const map = canonicalMap(
    new Map([
      ['UDP/fd00:10:96:0::a/53', 1],
      ['fd00:0::1/80', 2],
      ['FWM/inet/7', 3],
    ]),
  );
  assert.equal(map.get(canonicalServiceKey({ family: 'inet6', protocol: 'UDP', address: 'fd00:10:96::a', port: 53 })), 1);
  assert.equal(map.get('fd00::1/80'), 2);
  assert.equal(map.get(canonicalServiceKey({ family: 'inet', fwmark: 7 })), 3);
});

test('a non-NAT real server on the service port matches by address, only when unambiguous', () => {
  const reals = canonicalMap(
    new Map([
      ['10.0.0.1/8080', 'a'],
      ['10.0.0.2/8080', 'b'],
      ['10.0.0.2/9090', 'c'],
    ]),
  );
  assert.deepEqual(lookupReal(reals, { address: '10.0.0.1', port: 80, forward: 'route' }, 80), { key: '10.0.0.1/8080', value: 'a' });
  assert.equal(lookupReal(reals, { address: '10.0.0.1', port: 80, forward: 'masq' }, 80), undefined);
  assert.equal(lookupReal(reals, { address: '10.0.0.1', port: 81, forward: 'route' }, 80), undefined);
  assert.equal(lookupReal(reals, { address: '10.0.0.2', port: 80, forward: 'tunnel' }, 80), undefined);
  assert.deepEqual(lookupReal(reals, { address: '10.0.0.2', port: 9090, forward: 'masq' }, 80), { key: '10.0.0.2/9090', value: 'c' });
});

test('owner text: port name, else the port number', () => {
  const owner = { namespace: 'ns', name: 'svc', portName: 'http', kind: 'ClusterIP' as const };
  assert.equal(ownerText(owner, 80), 'ns/svc:http');
  assert.equal(ownerText({ ...owner, portName: '' }, 80), 'ns/svc:80');
  assert.equal(ownerText({ ...owner, portName: '' }, undefined), 'ns/svc');
});

test('canonicalAddress: canonical dotted quads as they are, every other spelling through the parser', () => {
  for (const a of ['10.96.0.1', '0.0.0.0', '255.255.255.255', '192.168.100.200']) assert.equal(canonicalAddress(a), a);
  assert.equal(canonicalAddress('10.0.0.01'), '10.0.0.1');
  assert.equal(canonicalAddress('010.0.0.1'), '8.0.0.1', 'a leading zero is octal, as inet_aton reads it');
  assert.equal(canonicalAddress('0x0a.0.0.1'), '10.0.0.1');
  assert.equal(canonicalAddress('10.1'), '10.0.0.1');
  assert.equal(canonicalAddress('256.1.1.1'), '256.1.1.1', 'not an address: left as written');
  assert.equal(canonicalAddress('2001:DB8::0001'), '2001:db8::1');
});
