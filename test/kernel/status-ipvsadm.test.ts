// The status views against the real ipvsadm, byte for byte, on one table built with ipvsadm in a
// fresh namespace: every protocol, both families, fwmarks, every scheduler the kernel has, every
// flag, persistence with netmasks, the sip persistence engine, every forwarding method, weights,
// thresholds, addresses from mixed ranges and traffic so the counters move. ipvsadm's output is
// taken in the same run and never stored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadNative, type NativeIpvsHandle } from '../../src/native/binding.js';
import { decodeDump } from '../../src/native/records.js';
import type { IpvsClient, OpResult } from '../../src/ipvs/types.js';
import { runStatus, type StatusOptions } from '../../src/status/index.js';
import { createNetns, type Netns } from './helpers/netns.js';

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

class ReadOnlyClientError extends Error {
  constructor(readonly method: string) {
    super(`${method}: the status test client only reads`);
    this.name = 'ReadOnlyClientError';
  }
}

/** The views need info(), dump() and getTimeouts(); the table is written with ipvsadm. */
async function openReadOnlyIpvs(netnsPath: string): Promise<IpvsClient & { closeAsync(): Promise<void> }> {
  const handle: NativeIpvsHandle = await loadNative().openIpvs(netnsPath, 10_000);
  const refuse = async (method: string): Promise<never> => {
    throw new ReadOnlyClientError(method);
  };
  return {
    async info() {
      const i = await handle.info();
      const v = i.version;
      return { version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`, connTableSize: i.connTableSize };
    },
    async dump() {
      return decodeDump(await handle.dump());
    },
    getTimeouts: () => handle.getTimeouts(),
    apply: (): Promise<OpResult[]> => refuse('apply'),
    setTimeouts: () => refuse('setTimeouts'),
    flush: () => refuse('flush'),
    zero: () => refuse('zero'),
    close: () => void handle.close(),
    closeAsync: () => handle.close(),
  };
}

let ns: Netns;
let ipvs: IpvsClient & { closeAsync(): Promise<void> };
const loadedSchedulers: string[] = [];
const missingSchedulers: string[] = [];
let sip = false;

async function ipvsadm(...args: string[]): Promise<string> {
  return ns.run('ipvsadm', args);
}

async function buildTable(): Promise<void> {
  // Addresses the traffic goes to, so the kernel routes it locally and IPVS sees it.
  await ns.run('ip', ['addr', 'add', '10.96.0.50/32', 'dev', 'lo']);
  await ns.run('ip', ['addr', 'add', '10.96.0.51/32', 'dev', 'lo']);
  await ns.run('ip', ['addr', 'add', '10.96.0.52/32', 'dev', 'lo']);
  await ns.run('ip', ['-6', 'addr', 'add', 'fd00::50/128', 'dev', 'lo']);

  // One service per scheduler, addresses from mixed ranges (the sort quirks need them), reals too.
  const ranges = ['10.96.1.', '192.168.50.', '172.16.0.', '1.0.0.', '97.0.0.', '193.0.0.', '127.0.9.', '255.255.255.', '128.0.0.'];
  for (const [i, s] of loadedSchedulers.entries()) {
    const vip = `${ranges[i % ranges.length]}${10 + i}`;
    await ipvsadm('-A', '-t', `${vip}:80`, '-s', s);
    await ipvsadm('-a', '-t', `${vip}:80`, '-r', `10.244.${i}.2:8080`, '-m', '-w', String(i));
    await ipvsadm('-a', '-t', `${vip}:80`, '-r', `192.168.${i}.3:8080`, '-m', '-w', '3', '-x', String(100 + i), '-y', String(i));
    await ipvsadm('-a', '-t', `${vip}:80`, '-r', `10.244.${i}.2:79`, '-m');
  }
  if (loadedSchedulers.includes('sh')) {
    await ipvsadm('-A', '-t', '10.96.0.30:443', '-s', 'sh', '-b', 'sh-fallback,sh-port', '-p', '600', '-M', '255.255.255.0');
    await ipvsadm('-a', '-t', '10.96.0.30:443', '-r', '10.244.2.30:8443', '-g');
    await ipvsadm('-a', '-t', '10.96.0.30:443', '-r', '10.244.2.31:8443', '-i', '-w', '2');
    await ipvsadm('-A', '-t', '10.96.0.36:80', '-s', 'sh', '-b', 'flag-3');
    await ipvsadm('-A', '-t', '10.96.0.37:80', '-s', 'sh', '-b', 'sh-port');
  }
  if (loadedSchedulers.includes('mh')) {
    await ipvsadm('-A', '-t', '10.96.0.31:80', '-s', 'mh', '-b', 'mh-port');
    await ipvsadm('-A', '-t', '10.96.0.38:80', '-s', 'mh', '-b', 'mh-fallback,mh-port');
  }
  await ipvsadm('-A', '-t', '10.96.0.34:80', '-s', 'wlc', '-b', 'flag-1,flag-2,flag-3');
  await ipvsadm('-A', '-t', '10.96.0.35:80', '-s', 'rr', '-b', 'flag-2');
  await ipvsadm('-A', '-t', '10.96.0.39:80', '-s', 'rr', '-p');
  await ipvsadm('-A', '-t', '10.96.0.40:80', '-s', 'rr', '-p', '1', '-M', '0.0.0.0');
  await ipvsadm('-A', '-u', '10.96.0.33:80', '-s', 'wlc', '-o');
  await ipvsadm('-A', '--sctp-service', '10.96.0.100:9999', '-s', 'rr');
  await ipvsadm('-a', '--sctp-service', '10.96.0.100:9999', '-r', '10.244.3.3:9999', '-m');
  await ipvsadm('-A', '--sctp-service', '[fd00::100]:9999', '-s', 'rr');
  if (sip) {
    await ipvsadm('-A', '-u', '10.96.0.52:5060', '-s', 'rr', '-p', '60', '--pe', 'sip', '-o');
    await ipvsadm('-a', '-u', '10.96.0.52:5060', '-r', '10.96.0.52:5061', '-m');
  }
  // Tunnels of every encapsulation, route, and a real that is a local address.
  await ipvsadm('-A', '-t', '10.96.0.60:80', '-s', 'rr');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.244.6.1:80', '-i', '--tun-type', 'ipip');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.244.6.2:80', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.244.6.3:80', '-i', '--tun-type', 'gre', '--tun-csum');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.244.6.6:80', '-i', '--tun-type', 'gre', '--tun-nocsum');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.244.6.7:80', '-i', '--tun-type', 'gue', '--tun-port', '6082', '--tun-remcsum');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.244.6.4:80', '-i', '--tun-type', 'gue', '--tun-port', '6081', '--tun-nocsum');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.244.6.5:8080', '-g', '-w', '0');
  await ipvsadm('-a', '-t', '10.96.0.60:80', '-r', '10.96.0.50:80', '-g', '-w', '100000');
  // IPv6, with reals, persistence with a prefix, and fwmarks of both families (one past 2^31).
  await ipvsadm('-A', '-t', '[fd00:10:96::110]:80', '-s', 'rr', '-p', '300', '-M', '64');
  await ipvsadm('-a', '-t', '[fd00:10:96::110]:80', '-r', '[fd00:10:244:1::31]:8080', '-m', '-w', '3');
  await ipvsadm('-a', '-t', '[fd00:10:96::110]:80', '-r', '[fd00:10:244:1::3]:8080', '-m');
  await ipvsadm('-a', '-t', '[fd00:10:96::110]:80', '-r', '[fd00::ffff:a00:1]:8080', '-m');
  await ipvsadm('-a', '-t', '[fd00:10:96::110]:80', '-r', '[fe80::1:0:0:1]:80', '-g');
  await ipvsadm('-A', '-t', '[::ffff:10.1.2.3]:80', '-s', 'rr');
  await ipvsadm('-A', '-u', '[fd00::1:0:0:0:1]:53', '-s', 'rr', '-p', '30');
  await ipvsadm('-A', '-f', '77', '-s', 'rr');
  await ipvsadm('-a', '-f', '77', '-r', '10.244.1.77', '-g');
  await ipvsadm('-a', '-f', '77', '-r', '10.244.1.78:5000', '-m');
  await ipvsadm('-A', '-f', '78', '-6', '-s', 'rr', '-p', '120', '-M', '48');
  await ipvsadm('-a', '-f', '78', '-6', '-r', '[fd00::78]', '-g');
  await ipvsadm('-A', '-f', '3000000000', '-s', 'rr');
  await ipvsadm('-A', '-f', '1', '-s', 'rr');
  // Traffic targets: UDP, TCP and IPv6 services whose real servers are on this host.
  await ipvsadm('-A', '-u', '10.96.0.50:7000', '-s', 'rr');
  await ipvsadm('-a', '-u', '10.96.0.50:7000', '-r', '10.96.0.50:7001', '-m');
  await ipvsadm('-a', '-u', '10.96.0.50:7000', '-r', '10.96.0.51:7001', '-m');
  await ipvsadm('-A', '-t', '10.96.0.51:80', '-s', 'rr');
  await ipvsadm('-a', '-t', '10.96.0.51:80', '-r', '10.96.0.51:8080', '-m');
  await ipvsadm('-A', '-u', '[fd00::50]:7000', '-s', 'rr');
  await ipvsadm('-a', '-u', '[fd00::50]:7000', '-r', '[fd00::50]:7001', '-m');
}

async function sendTraffic(): Promise<void> {
  const script = [
    'for i in $(seq 1 40); do',
    '  printf "%0500d" 0 > /dev/udp/10.96.0.50/7000',
    '  printf "ping" > /dev/udp/fd00::50/7000',
    'done',
    'for i in 1 2 3; do timeout 2 bash -c "exec 3<>/dev/tcp/10.96.0.51/80" 2>/dev/null; done',
    sip ? 'printf "INVITE sip:a@b SIP/2.0\\r\\nCall-ID: status-test-1\\r\\n\\r\\n" > /dev/udp/10.96.0.52/5060' : 'true',
    'true',
  ].join('\n');
  await ns.run('bash', ['-c', script], { timeoutMs: 60_000 });
}

before(async () => {
  ns = await createNetns('status');
  await ns.run('modprobe', ['ip_vs']);
  for (const s of SCHEDULERS) {
    const r = await ns.exec('modprobe', [`ip_vs_${s}`]);
    (r.code === 0 ? loadedSchedulers : missingSchedulers).push(s);
  }
  sip = (await ns.exec('modprobe', ['ip_vs_pe_sip'])).code === 0;
  await buildTable();
  await sendTraffic();
  ipvs = await openReadOnlyIpvs(ns.path);
});

after(async () => {
  await ipvs?.closeAsync();
  await ns?.destroy();
  console.log(`# schedulers loaded: ${loadedSchedulers.join(' ')}; missing: ${missingSchedulers.join(' ') || 'none'}; pe sip: ${sip}`);
});

/**
 * Ours before and after ipvsadm's: rates decay and connections expire between two reads, so
 * ipvsadm's text must equal one of the two reads that bracket it (a few tries, then fail).
 */
async function compareView(args: string[], opts: StatusOptions): Promise<void> {
  const deps = {
    ipvs,
    readConnections: () => ns.run('cat', ['/proc/net/ip_vs_conn']),
  };
  let last: { ours: string; theirs: string } | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = (await runStatus(opts, deps)).output;
    const theirs = await ipvsadm(...args);
    const afterwards = (await runStatus(opts, deps)).output;
    if (theirs === before || theirs === afterwards) return;
    last = { ours: afterwards, theirs };
  }
  assert.equal(last?.ours, last?.theirs, `ipvs-proxy status vs ipvsadm ${args.join(' ')}`);
}

test('the table under test is non-trivial', async () => {
  const entries = await ipvs.dump();
  assert.ok(entries.length >= 25, `only ${entries.length} services`);
  const traffic = entries.find((e) => e.service.port === 7000 && e.service.family === 'inet');
  assert.ok(traffic && traffic.service.stats.inpkts > 0n, 'UDP traffic was counted');
  assert.ok(loadedSchedulers.length >= 10, `schedulers: ${loadedSchedulers.join(' ')}`);
});

const VIEWS: Array<[string[], StatusOptions]> = [
  [['-Ln'], {}],
  [['-Ln', '--exact'], { exact: true }],
  [['-Ln', '--stats'], { stats: true }],
  [['-Ln', '--stats', '--exact'], { stats: true, exact: true }],
  [['-Ln', '--rate'], { rate: true }],
  [['-Ln', '--rate', '--exact'], { rate: true, exact: true }],
  [['-Ln', '--thresholds'], { thresholds: true }],
  [['-Ln', '--persistent-conn'], { persistentConn: true }],
  [['-Ln', '--tun-info'], { tunInfo: true }],
  [['-Ln', '--nosort'], { nosort: true }],
  [['-L', '--timeout'], { timeout: true }],
  [['-Sn'], { save: true }],
  [['-Lnc'], { connections: true }],
  [['-Lnc', '--persistent-conn'], { connections: true, persistentConn: true }],
];

for (const [args, opts] of VIEWS) {
  test(`ipvsadm ${args.join(' ')}`, async () => {
    await compareView(args, opts);
  });
}

test('the connection table has entries, with sip persistence data when the engine loaded', async () => {
  const text = await ns.run('cat', ['/proc/net/ip_vs_conn']);
  assert.ok(text.split('\n').length > 3, 'connections exist');
  if (sip) assert.match(text, / sip /);
});
