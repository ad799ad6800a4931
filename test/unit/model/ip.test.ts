import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, parseCidr, parseIp } from '../../../src/model/ip.js';

describe('parseIp: strict, canonical as inet_ntop writes it', () => {
  const table: [string, string | undefined][] = [
    ['10.0.1.175', '10.0.1.175'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['256.0.0.1', undefined],
    ['010.0.0.1', undefined],
    ['10.1', undefined],
    ['0x0a.0.0.1', undefined],
    [' 10.0.0.1', undefined],
    ['FD00:0000:0000:0000:0000:0000:0000:0001', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fd00::', 'fd00::'],
    ['::a00:1', '::10.0.0.1'],
    ['::ffff:10.0.0.1', undefined],
    ['fe80::1%eth0', undefined],
    ['not-an-ip', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} -> ${String(expected)}`, () => {
      assert.equal(parseIp(input)?.address, expected);
    });
  }

  it('non-strings are not addresses', () => {
    assert.equal(parseIp(42), undefined);
    assert.equal(parseIp(null), undefined);
    assert.equal(parseIp({}), undefined);
  });
});

describe('parseCidr and containment', () => {
  it('clears host bits and canonicalises', () => {
    assert.equal(parseCidr('10.1.2.3/8')?.cidr, '10.0.0.0/8');
    assert.equal(parseCidr('FD00:1::5/64')?.cidr, 'fd00:1::/64');
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
    assert.equal(parseCidr('10.0.0.0'), undefined);
    assert.equal(parseCidr('10.0.0.0/08'), undefined);
  });

  it('matches addresses of its family only', () => {
    const net = parseCidr('172.16.0.0/12');
    assert.ok(net);
    assert.equal(cidrContains(net, parseIp('172.31.255.1')!), true);
    assert.equal(cidrContains(net, parseIp('172.32.0.1')!), false);
    assert.equal(cidrContains(net, parseIp('fd00::1')!), false);
    assert.equal(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('8.8.8.8')!), true);
  });
});
