import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressPortText, addressText, addressWords, InvalidAddressError, prefixToDottedMask } from '../../../src/status/address.js';

test('IPv6 text follows glibc inet_ntop', () => {
  const cases: Array<[string, string]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['FD00:10:96::110', 'fd00:10:96::110'],
    // A single zero group is written out, not compressed.
    ['1:0:1:1:1:1:1:1', '1:0:1:1:1:1:1:1'],
    // On equal runs the first one is compressed.
    ['1:0:0:1:0:0:1:1', '1::1:0:0:1:1'],
    // The longest run wins over an earlier shorter one.
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1::', '1::'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['::10.1.2.3', '::10.1.2.3'],
    ['::ffff:0:a01:203', '::ffff:0:a01:203'],
  ];
  for (const [input, expected] of cases) assert.equal(addressText('inet6', input), expected, input);
});

test('address and port: brackets for IPv6 only', () => {
  assert.equal(addressPortText('inet', '10.96.0.1', 443), '10.96.0.1:443');
  assert.equal(addressPortText('inet6', 'fd00::1', 80), '[fd00::1]:80');
});

test('an address of the wrong family is rejected with a typed error', () => {
  assert.throws(() => addressText('inet', 'fd00::1'), InvalidAddressError);
  assert.throws(() => addressText('inet6', '10.0.0.1'), InvalidAddressError);
});

test('sort words: IPv4 fills the first word only', () => {
  assert.deepEqual(addressWords('inet', '192.168.50.10'), [0xc0a8320a, 0, 0, 0]);
  assert.deepEqual(addressWords('inet6', 'fd00::1:2'), [0xfd000000, 0, 0, 0x00010002]);
});

test('prefix lengths as dotted-quad masks', () => {
  assert.equal(prefixToDottedMask(0), '0.0.0.0');
  assert.equal(prefixToDottedMask(1), '128.0.0.0');
  assert.equal(prefixToDottedMask(24), '255.255.255.0');
  assert.equal(prefixToDottedMask(31), '255.255.255.254');
  assert.equal(prefixToDottedMask(32), '255.255.255.255');
});

test('IPv6 parsing: forms inet_pton accepts and rejects', () => {
  assert.equal(addressText('inet6', '0:0:0:0:0:0:0:0'), '::');
  assert.equal(addressText('inet6', '1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
  assert.equal(addressText('inet6', '1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
  assert.equal(addressText('inet6', 'fd00:0000:0096:0000:0000:0000:0000:0110'), 'fd00:0:96::110');
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', '::1.2.3', 'g::1', '1:2:3:4:5:6:7::8']) {
    assert.throws(() => addressText('inet6', bad), InvalidAddressError, bad);
  }
});
