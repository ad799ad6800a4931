import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SvcFlag } from '../../../src/vocabulary/ipvs.js';
import { formatSave, formatSaveReal, formatSaveService } from '../../../src/status/save-view.js';
import { entry, fwmark, proto, real, tcp } from './builders.js';

test('service commands: protocol option, scheduler, persistence, mask, engine, -o, -b', () => {
  assert.equal(formatSaveService(tcp('10.96.0.1', 443, { flags: SvcFlag.PERSISTENT, timeout: 10800 })), '-A -t 10.96.0.1:443 -s rr -p 10800');
  assert.equal(
    formatSaveService(tcp('10.96.0.30', 443, { scheduler: 'sh', flags: SvcFlag.PERSISTENT | SvcFlag.SCHED1 | SvcFlag.SCHED2, timeout: 600, netmask: 24 })),
    '-A -t 10.96.0.30:443 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port',
  );
  assert.equal(formatSaveService(tcp('fd00::1', 80, { flags: SvcFlag.PERSISTENT, timeout: 300, netmask: 64 })), '-A -t [fd00::1]:80 -s rr -p 300 -M 64');
  assert.equal(
    formatSaveService(proto('UDP', '10.96.0.33', 5060, { flags: SvcFlag.PERSISTENT | SvcFlag.ONEPACKET, timeout: 60, peName: 'sip' })),
    '-A -u 10.96.0.33:5060 -s rr -p 60 --pe sip -o',
  );
  // -S writes the engine even when the service does not persist (the listing does not).
  assert.equal(formatSaveService(proto('UDP', '10.0.0.1', 1, { peName: 'sip' })), '-A -u 10.0.0.1:1 -s rr --pe sip');
  assert.equal(formatSaveService(proto('SCTP', '10.96.0.100', 9999)), '-A --sctp-service 10.96.0.100:9999 -s rr');
  // A scheduler flag without a name for the scheduler leaves "-b " with nothing after it.
  assert.equal(formatSaveService(tcp('10.0.0.1', 80, { scheduler: 'sh', flags: SvcFlag.SCHED3 })), '-A -t 10.0.0.1:80 -s sh -b ');
  assert.equal(formatSaveService(fwmark(77)), '-A -f 77 -s rr');
  assert.equal(formatSaveService(fwmark(78, 'inet6')), '-A -f 78 -6 -s rr');
  assert.equal(formatSaveService(fwmark(3_000_000_000)), '-A -f -1294967296 -s rr');
});

test('real server commands: -m, -g for route and local, -i with the tunnel options', () => {
  const svc = tcp('10.96.0.60', 80);
  assert.equal(formatSaveReal(svc, real('10.244.0.5', 8080)), '-a -t 10.96.0.60:80 -r 10.244.0.5:8080 -m -w 1');
  assert.equal(formatSaveReal(svc, real('10.244.0.5', 80, { forward: 'route', weight: 0 })), '-a -t 10.96.0.60:80 -r 10.244.0.5:80 -g -w 0');
  assert.equal(formatSaveReal(svc, real('10.244.0.5', 80, { forward: 'local' })), '-a -t 10.96.0.60:80 -r 10.244.0.5:80 -g -w 1');
  assert.equal(formatSaveReal(svc, real('10.244.6.1', 80, { forward: 'tunnel' })), '-a -t 10.96.0.60:80 -r 10.244.6.1:80 -i -w 1 --tun-type ipip');
  assert.equal(
    formatSaveReal(svc, real('10.244.6.2', 80, { forward: 'tunnel', tunnelType: 1, tunnelPort: 6080, tunnelFlags: 1 })),
    '-a -t 10.96.0.60:80 -r 10.244.6.2:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
  );
  assert.equal(
    formatSaveReal(svc, real('10.244.6.3', 80, { forward: 'tunnel', tunnelType: 2, tunnelFlags: 2 })),
    '-a -t 10.96.0.60:80 -r 10.244.6.3:80 -i -w 1 --tun-type gre --tun-remcsum',
  );
  assert.equal(formatSaveReal(fwmark(78, 'inet6'), real('fd00::78', 0, { forward: 'route' })), '-a -f 78 -6 -r [fd00::78]:0 -g -w 1');
});

test('the whole save output is sorted like the listing and empty for an empty table', () => {
  assert.equal(formatSave([], true), '');
  assert.equal(
    formatSave([entry(tcp('10.0.0.2', 80), [real('10.1.0.2', 80), real('10.1.0.1', 80)]), entry(tcp('10.0.0.1', 80))], true),
    '-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 -s rr\n-a -t 10.0.0.2:80 -r 10.1.0.1:80 -m -w 1\n-a -t 10.0.0.2:80 -r 10.1.0.2:80 -m -w 1\n',
  );
});
