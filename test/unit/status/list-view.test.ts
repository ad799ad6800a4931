import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SvcFlag } from '../../../src/vocabulary/ipvs.js';
import { formatBanner, formatList, formatListTitle, formatRealLine, formatServiceLine, realStatsAsIpvsadmReads } from '../../../src/status/list-view.js';
import { entry, fwmark, proto, real, stats, tcp } from './builders.js';

const info = { version: '1.2.1', connTableSize: 4096 };
const list = { view: 'list' as const, exact: false, sort: true };

test('banner and titles', () => {
  assert.equal(formatBanner(info), 'IP Virtual Server version 1.2.1 (size=4096)');
  assert.deepEqual(formatListTitle('list'), [
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ]);
  assert.equal(formatListTitle('stats')[0], 'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes');
  assert.equal(formatListTitle('rate')[0], 'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS');
  assert.equal(formatListTitle('thresholds')[0], 'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ');
  assert.equal(formatListTitle('persistent-conn')[0], 'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ');
  assert.equal(formatListTitle('stats')[1], '  -> RemoteAddress:Port');
});

test('service lines: flags by scheduler, persistence, masks, engine, one-packet', () => {
  const cases: Array<[ReturnType<typeof tcp>, string]> = [
    [tcp('10.96.0.10', 80), 'TCP  10.96.0.10:80 rr'],
    [
      tcp('10.96.0.30', 443, { scheduler: 'sh', flags: SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.PERSISTENT, timeout: 600, netmask: 24 }),
      'TCP  10.96.0.30:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0',
    ],
    [tcp('10.96.0.31', 80, { scheduler: 'mh', flags: SvcFlag.SCHED2 }), 'TCP  10.96.0.31:80 mh (mh-port)'],
    [tcp('10.96.0.32', 80, { scheduler: 'mh', flags: SvcFlag.SCHED1 }), 'TCP  10.96.0.32:80 mh (mh-fallback)'],
    // sh and mh have no name for the third flag: ipvsadm prints empty parentheses.
    [tcp('10.96.0.35', 80, { scheduler: 'sh', flags: SvcFlag.SCHED3 }), 'TCP  10.96.0.35:80 sh ()'],
    [tcp('10.96.0.34', 80, { scheduler: 'wlc', flags: SvcFlag.SCHED1 | SvcFlag.SCHED3 }), 'TCP  10.96.0.34:80 wlc (flag-1,flag-3)'],
    [
      proto('UDP', '10.96.0.33', 5060, { flags: SvcFlag.PERSISTENT | SvcFlag.ONEPACKET, timeout: 60, peName: 'sip' }),
      'UDP  10.96.0.33:5060 rr persistent 60 pe sip ops',
    ],
    // The engine is only shown on a persistent service; the kernel's HASHED bit is never shown.
    [proto('UDP', '10.96.0.33', 53, { flags: SvcFlag.HASHED | SvcFlag.ONEPACKET, peName: 'sip' }), 'UDP  10.96.0.33:53 rr ops'],
    [proto('SCTP', '10.96.0.100', 9999), 'SCTP 10.96.0.100:9999 rr'],
    [tcp('fd00:10:96::110', 80, { flags: SvcFlag.PERSISTENT, timeout: 300, netmask: 128 }), 'TCP  [fd00:10:96::110]:80 rr persistent 300'],
    [tcp('fd00::1', 80, { flags: SvcFlag.PERSISTENT, timeout: 300, netmask: 64 }), 'TCP  [fd00::1]:80 rr persistent 300 mask 64'],
    [tcp('10.0.0.1', 80, { flags: SvcFlag.PERSISTENT, timeout: 1, netmask: 0 }), 'TCP  10.0.0.1:80 rr persistent 1 mask 0.0.0.0'],
    // A netmask on a service that does not persist is not shown.
    [tcp('10.0.0.2', 80, { netmask: 24 }), 'TCP  10.0.0.2:80 rr'],
    [fwmark(77), 'FWM  77 rr'],
    [fwmark(78, 'inet6'), 'FWM  78 IPv6 rr'],
    [fwmark(3_000_000_000), 'FWM  -1294967296 rr'],
  ];
  for (const [svc, expected] of cases) assert.equal(formatServiceLine(svc, list), expected);
});

test('real server lines keep the trailing padding of the last column', () => {
  assert.equal(formatRealLine(real('10.244.0.2', 9376), list), '  -> 10.244.0.2:9376              Masq    1      0          0         ');
  assert.equal(
    formatRealLine(real('fd00:10:244:1::31', 8080, { weight: 3, activeConns: 12, inactiveConns: 4000000000 }), list),
    '  -> [fd00:10:244:1::31]:8080     Masq    3      12         4000000000',
  );
  assert.equal(formatRealLine(real('10.244.2.30', 443, { forward: 'route' }), list), '  -> 10.244.2.30:443              Route   1      0          0         ');
  assert.equal(
    formatRealLine(real('10.244.2.31', 443, { forward: 'tunnel', weight: 2 }), list),
    '  -> 10.244.2.31:443              Tunnel  2      0          0         ',
  );
  assert.equal(
    formatRealLine(real('10.244.2.32', 443, { forward: 'local', weight: 100000 }), list),
    '  -> 10.244.2.32:443              Local   100000 0          0         ',
  );
  // A long IPv6 name pushes the columns right instead of being cut.
  assert.equal(
    formatRealLine(real('fd00:1111:2222:3333:4444:5555:6666:7777', 65535), list),
    '  -> [fd00:1111:2222:3333:4444:5555:6666:7777]:65535 Masq    1      0          0         ',
  );
});

test('thresholds, persistent-conn and tun-info real lines', () => {
  const r = real('10.0.0.1', 80, { upperThreshold: 100, lowerThreshold: 5, activeConns: 7, inactiveConns: 8, persistConns: 9, weight: 2 });
  assert.equal(formatRealLine(r, { ...list, view: 'thresholds' }), '  -> 10.0.0.1:80                  100        5          7          8         ');
  assert.equal(formatRealLine(r, { ...list, view: 'persistent-conn' }), '  -> 10.0.0.1:80                  2         9           7          8         ');
  assert.equal(formatRealLine(r, { ...list, view: 'tun-info' }), '  -> 10.0.0.1:80                  Masq    n/a           2      7          8         ');
  const tun = (tunnelType: number, tunnelFlags: number, tunnelPort = 0) =>
    formatRealLine(real('10.0.0.2', 80, { forward: 'tunnel', tunnelType, tunnelFlags, tunnelPort }), { ...list, view: 'tun-info' });
  assert.equal(tun(0, 0), '  -> 10.0.0.2:80                  Tunnel  ipip          1      0          0         ');
  assert.equal(tun(1, 1, 6080), '  -> 10.0.0.2:80                  Tunnel  gue:6080:+c   1      0          0         ');
  assert.equal(tun(2, 2), '  -> 10.0.0.2:80                  Tunnel  gre:r+c       1      0          0         ');
});

test('--stats: 33-column service name then 9-column counters, scaled from 100M', () => {
  const svc = tcp('10.96.0.1', 443, {
    stats: stats({ conns: 5n, inpkts: 123_456_789n, outpkts: 1_500_000_000n, inbytes: 250_000_000_000n, outbytes: 300_000_000_000_000n }),
  });
  const opts = { view: 'stats' as const, exact: false, sort: true };
  assert.equal(formatServiceLine(svc, opts), 'TCP  10.96.0.1:443                       5  123456K    1500M     250G     300T');
  assert.equal(
    formatServiceLine(svc, { ...opts, exact: true }),
    'TCP  10.96.0.1:443                       5 123456789 1500000000 250000000000 300000000000000',
  );
  assert.equal(formatServiceLine(fwmark(78, 'inet6'), opts), 'FWM  78 IPv6                             0        0        0        0        0');
});

test('--rate: the real server packet rates are never scaled, the byte rates are', () => {
  const r = real('10.0.0.1', 80, { stats: stats({ cps: 123_456_789n, inpps: 1n, outpps: 2n, inbps: 200_000_000n, outbps: 3n }) });
  const opts = { view: 'rate' as const, exact: false, sort: true };
  assert.equal(formatRealLine(r, opts), '  -> 10.0.0.1:80                  123456789        1        2  200000K        3');
  const svc = tcp('10.0.0.1', 80, { stats: stats({ cps: 123_456_789n }) });
  assert.equal(formatServiceLine(svc, opts), 'TCP  10.0.0.1:80                   123456K        0        0        0        0');
});

test('real server counters keep their low 32 bits except the byte counts (libipvs 1.31)', () => {
  const big = 0x1_0000_0005n;
  const s = realStatsAsIpvsadmReads(stats({ conns: big, inpkts: big, inbytes: big, outbytes: big, inbps: big }));
  assert.equal(s.conns, 5n);
  assert.equal(s.inpkts, 5n);
  assert.equal(s.inbps, 5n);
  assert.equal(s.inbytes, big);
  assert.equal(s.outbytes, big);
  const line = formatRealLine(real('10.0.0.1', 80, { stats: stats({ conns: big, inbytes: 5_000_000_000n }) }), { view: 'stats', exact: false, sort: true });
  assert.equal(line, '  -> 10.0.0.1:80                         5        0        0    5000M        0');
});

test('the whole listing: banner, title, sorted services with sorted reals', () => {
  const out = formatList(
    info,
    [
      entry(tcp('10.96.0.10', 80), [real('10.244.0.6', 9376), real('10.244.0.2', 9376)]),
      entry(fwmark(77), [real('10.244.1.77', 0, { forward: 'route' })]),
      entry(tcp('192.168.50.10', 80)),
    ],
    list,
  );
  assert.equal(
    out,
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  192.168.50.10:80 rr',
      'TCP  10.96.0.10:80 rr',
      '  -> 10.244.0.2:9376              Masq    1      0          0         ',
      '  -> 10.244.0.6:9376              Masq    1      0          0         ',
      'FWM  77 rr',
      '  -> 10.244.1.77:0                Route   1      0          0         ',
      '',
    ].join('\n'),
  );
});

test('--nosort keeps the dump order of services and reals', () => {
  const out = formatList(info, [entry(tcp('10.96.0.10', 80), [real('10.244.0.6', 9376), real('10.244.0.2', 9376)]), entry(tcp('10.0.0.1', 80))], {
    ...list,
    sort: false,
  });
  assert.deepEqual(out.split('\n').slice(3, 7), [
    'TCP  10.96.0.10:80 rr',
    '  -> 10.244.0.6:9376              Masq    1      0          0         ',
    '  -> 10.244.0.2:9376              Masq    1      0          0         ',
    'TCP  10.0.0.1:80 rr',
  ]);
});

test('an empty table is banner and title only', () => {
  assert.equal(formatList(info, [], list).split('\n').length, 4);
});
