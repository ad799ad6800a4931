// The addon against the real kernel, cross-checked with the real ipvsadm in the same test:
// what the addon writes ipvsadm reads back byte for byte, and what ipvsadm writes the addon
// dumps exactly. Every test uses its own network namespace.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openIpvs } from '../../src/ipvs/client.js';
import { serviceKey, realKey } from '../../src/vocabulary/ipvs-keys.js';
import type { IpvsClient } from '../../src/ipvs/types.js';
import type { IpvsOp, RealServer, VirtualServer, VirtualServerEntry, VirtualServerKey } from '../../src/vocabulary/ipvs.js';
import { withNetns, type Netns } from './helpers/netns.js';
import { addOps, comparable, ipvsadmRules, prepareRoutes, type Table } from './ipvs-fixtures.js';

const TABLE: Table = [
  {
    service: { family: 'inet', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
    reals: [
      { family: 'inet', address: '10.244.0.2', port: 9376, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
      { family: 'inet', address: '10.244.0.6', port: 9376, forward: 'masq', weight: 5, upperThreshold: 100, lowerThreshold: 10 },
    ],
  },
  {
    service: { family: 'inet', protocol: 'UDP', address: '10.96.0.33', port: 53, scheduler: 'wlc', flags: 0x4, timeout: 0, netmask: 32 },
    reals: [{ family: 'inet', address: '10.244.3.3', port: 53, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
  },
  { service: { family: 'inet', protocol: 'SCTP', address: '10.96.0.100', port: 9999, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 }, reals: [] },
  {
    service: { family: 'inet', protocol: 'TCP', address: '10.96.0.30', port: 443, scheduler: 'sh', flags: 0x1 | 0x8 | 0x10, timeout: 600, netmask: 24 },
    reals: [
      { family: 'inet', address: '10.244.2.30', port: 443, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
      { family: 'inet', address: '10.244.2.31', port: 443, forward: 'tunnel', weight: 2, upperThreshold: 0, lowerThreshold: 0 },
    ],
  },
  { service: { family: 'inet', protocol: 'TCP', address: '192.168.50.10', port: 80, scheduler: 'mh', flags: 0x10, timeout: 0, netmask: 32 }, reals: [] },
  {
    service: { family: 'inet6', protocol: 'TCP', address: 'fd00:10:96::110', port: 80, scheduler: 'rr', flags: 0x1, timeout: 300, netmask: 128 },
    reals: [{ family: 'inet6', address: 'fd00:10:244:1::31', port: 8080, forward: 'masq', weight: 3, upperThreshold: 0, lowerThreshold: 0 }],
  },
  { service: { family: 'inet6', protocol: 'UDP', address: 'fd00:10:96::111', port: 443, scheduler: 'wrr', flags: 0x1, timeout: 300, netmask: 64 }, reals: [] },
  {
    service: { family: 'inet', fwmark: 77, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
    reals: [{ family: 'inet', address: '10.244.1.77', port: 0, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
  },
  { service: { family: 'inet6', fwmark: 78, scheduler: 'rr', flags: 0, timeout: 0, netmask: 128 }, reals: [] },
  {
    service: { family: 'inet', protocol: 'TCP', address: '10.96.0.50', port: 80, scheduler: 'lc', flags: 0, timeout: 0, netmask: 32 },
    reals: [{ family: 'inet', address: '10.0.0.1', port: 80, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
  },
  {
    service: { family: 'inet', protocol: 'UDP', address: '10.96.0.60', port: 5060, scheduler: 'rr', flags: 0x1, timeout: 60, netmask: 32, peName: 'sip' },
    reals: [{ family: 'inet', address: '10.244.6.1', port: 5060, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
  },
];

async function withIpvs<T>(fn: (ns: Netns, ipvs: IpvsClient) => Promise<T>): Promise<T> {
  return withNetns(async (ns) => {
    await prepareRoutes(ns);
    const ipvs = await openIpvs({ netns: ns.path });
    try {
      return await fn(ns, ipvs);
    } finally {
      ipvs.close();
    }
  }, 'ipvs');
}

const VIEWS: readonly (readonly string[])[] = [['-Sn'], ['-Ln'], ['-Ln', '--thresholds'], ['-Ln', '--persistent-conn']];

test('what the addon writes, ipvsadm reads back exactly as if ipvsadm had written it', async () => {
  await withIpvs(async (nsA, ipvsA) => {
    await withNetns(async (nsB) => {
      await prepareRoutes(nsB);
      const results = await ipvsA.apply(addOps(TABLE));
      assert.deepEqual(
        results.filter((r) => !r.ok),
        [],
      );
      await nsB.run('ipvsadm', ['-R'], { input: ipvsadmRules(TABLE) });
      for (const view of VIEWS) {
        const a = await nsA.run('ipvsadm', view);
        const b = await nsB.run('ipvsadm', view);
        assert.equal(a, b, `ipvsadm ${view.join(' ')} differs`);
      }
      assert.equal((await nsA.run('ipvsadm', ['-Sn'])).split('\n').filter((l) => l.startsWith('-A')).length, TABLE.length);
    }, 'ipvsadm');
  });
});

test('what ipvsadm writes, the addon dumps exactly', async () => {
  await withIpvs(async (ns, ipvs) => {
    await ns.run('ipvsadm', ['-R'], { input: ipvsadmRules(TABLE) });
    const dumped = comparable(await ipvs.dump());
    assert.deepEqual(dumped, comparable(TABLE.map((e) => ({ service: e.service, reals: e.reals }))));
    // Real servers report their counters as numbers and stats as 64-bit values.
    const first = (await ipvs.dump())[0];
    assert.equal(typeof first.service.stats.conns, 'bigint');
    for (const r of first.reals) assert.equal(typeof r.activeConns, 'number');
  });
});

test('one virtual server read alone (the drain check) has what ipvsadm wrote; an unparsable key is refused', async () => {
  await withIpvs(async (ns, ipvs) => {
    await ns.run('ipvsadm', ['-R'], { input: ipvsadmRules(TABLE) });
    for (const e of TABLE) {
      const reals = await ipvs.dumpReals(e.service);
      assert.deepEqual(comparable([{ service: e.service, reals }]), comparable([{ service: e.service, reals: e.reals }]));
    }
    await assert.rejects(
      ipvs.dumpReals({ family: 'inet', protocol: 'TCP', address: '10.96.0.300', port: 80 }),
      /bad service key: invalid IPv4 address '10\.96\.0\.300'/,
    );
  });
});

test('route real servers keep the port the kernel stores, as ipvsadm shows it', async () => {
  await withIpvs(async (ns, ipvs) => {
    const svc: VirtualServer = { family: 'inet', protocol: 'TCP', address: '10.96.0.40', port: 443, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 };
    const real: RealServer = { family: 'inet', address: '10.244.4.1', port: 8443, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 };
    assert.deepEqual(
      await ipvs.apply([
        { op: 'addService', service: svc },
        { op: 'addReal', service: svc, real },
      ]),
      [{ ok: true }, { ok: true }],
    );
    const [entry] = await ipvs.dump();
    const saved = await ns.run('ipvsadm', ['-Sn']);
    assert.match(saved, new RegExp(`-r 10\\.244\\.4\\.1:${entry.reals[0].port} -g -w 1`));
  });
});

test('local forwarding (which ipvsadm cannot ask for) is kept and shown as Local', async () => {
  await withIpvs(async (ns, ipvs) => {
    const svc: VirtualServer = { family: 'inet', protocol: 'TCP', address: '10.96.0.50', port: 80, scheduler: 'lc', flags: 0, timeout: 0, netmask: 32 };
    const real: RealServer = { family: 'inet', address: '10.0.0.1', port: 80, forward: 'local', weight: 1, upperThreshold: 0, lowerThreshold: 0 };
    assert.deepEqual(
      await ipvs.apply([
        { op: 'addService', service: svc },
        { op: 'addReal', service: svc, real },
      ]),
      [{ ok: true }, { ok: true }],
    );
    assert.deepEqual(comparable(await ipvs.dump()), comparable([{ service: svc, reals: [real] }]));
    assert.match(await ns.run('ipvsadm', ['-Ln']), /\n {2}-> 10\.0\.0\.1:80 +Local +1 /);
  });
});

test('tunnel encapsulation settings round-trip (GUE with a port)', async () => {
  await withIpvs(async (ns, ipvs) => {
    const svc: VirtualServerKey = { family: 'inet', protocol: 'TCP', address: '10.96.0.41', port: 80 };
    const real: RealServer = {
      family: 'inet',
      address: '10.244.4.2',
      port: 80,
      forward: 'tunnel',
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
      tunnelType: 1,
      tunnelPort: 6080,
      tunnelFlags: 1,
    };
    const ok = await ipvs.apply([
      { op: 'addService', service: { ...svc, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 } },
      { op: 'addReal', service: svc, real },
    ]);
    assert.deepEqual(ok, [{ ok: true }, { ok: true }]);
    const [entry] = await ipvs.dump();
    assert.deepEqual({ t: entry.reals[0].tunnelType, p: entry.reals[0].tunnelPort, f: entry.reals[0].tunnelFlags }, { t: 1, p: 6080, f: 1 });
    assert.match(await ns.run('ipvsadm', ['-Sn']), /-i -w 1 --tun-type gue --tun-port 6080 --tun-csum/);
  });
});

test('updates of services and real servers are what ipvsadm -E/-e would make', async () => {
  await withIpvs(async (nsA, ipvs) => {
    await withNetns(async (nsB) => {
      await prepareRoutes(nsB);
      const [e] = TABLE;
      await ipvs.apply(addOps([e]));
      await nsB.run('ipvsadm', ['-R'], { input: ipvsadmRules([e]) });
      const svc = { ...e.service, scheduler: 'wrr', flags: 0x1, timeout: 120, netmask: 16 } as VirtualServer;
      const real = { ...e.reals[0], weight: 7, upperThreshold: 50, lowerThreshold: 5 };
      const results = await ipvs.apply([
        { op: 'updateService', service: svc },
        { op: 'updateReal', service: svc, real },
      ]);
      assert.deepEqual(results, [{ ok: true }, { ok: true }]);
      await nsB.run('ipvsadm', ['-E', '-t', '10.96.0.10:80', '-s', 'wrr', '-p', '120', '-M', '255.255.0.0']);
      await nsB.run('ipvsadm', ['-e', '-t', '10.96.0.10:80', '-r', '10.244.0.2:9376', '-m', '-w', '7', '-x', '50', '-y', '5']);
      for (const view of VIEWS) assert.equal(await nsA.run('ipvsadm', view), await nsB.run('ipvsadm', view));
      const [dumped] = await ipvs.dump();
      assert.equal(dumped.service.netmask, 16);
      assert.equal(dumped.service.timeout, 120);
    }, 'ipvsadm');
  });
});

interface ErrorCase {
  name: string;
  setup: IpvsOp[];
  op: IpvsOp;
  code: string;
  /** The same mistake through ipvsadm (run after the same setup), whose message must match ours. */
  ipvsadm?: string[];
}

const S: VirtualServer = { family: 'inet', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 };
const R: RealServer = { family: 'inet', address: '10.244.0.2', port: 9376, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 };
const MISSING: VirtualServer = { ...S, address: '10.96.0.99' };

const ERROR_CASES: ErrorCase[] = [
  {
    name: 'service exists',
    setup: [{ op: 'addService', service: S }],
    op: { op: 'addService', service: S },
    code: 'EEXIST',
    ipvsadm: ['-A', '-t', '10.96.0.10:80', '-s', 'rr'],
  },
  {
    name: 'unknown scheduler',
    setup: [],
    op: { op: 'addService', service: { ...S, scheduler: 'nosuch' } },
    code: 'ENOENT',
    ipvsadm: ['-A', '-t', '10.96.0.10:80', '-s', 'nosuch'],
  },
  { name: 'delete missing service', setup: [], op: { op: 'deleteService', service: MISSING }, code: 'ESRCH', ipvsadm: ['-D', '-t', '10.96.0.99:80'] },
  {
    name: 'update missing service',
    setup: [],
    op: { op: 'updateService', service: MISSING },
    code: 'ESRCH',
    ipvsadm: ['-E', '-t', '10.96.0.99:80', '-s', 'rr'],
  },
  {
    name: 'real server of missing service',
    setup: [],
    op: { op: 'addReal', service: MISSING, real: R },
    code: 'ESRCH',
    ipvsadm: ['-a', '-t', '10.96.0.99:80', '-r', '10.244.0.2:9376', '-m'],
  },
  {
    name: 'real server exists',
    setup: [
      { op: 'addService', service: S },
      { op: 'addReal', service: S, real: R },
    ],
    op: { op: 'addReal', service: S, real: R },
    code: 'EEXIST',
    ipvsadm: ['-a', '-t', '10.96.0.10:80', '-r', '10.244.0.2:9376', '-m'],
  },
  {
    name: 'update missing real server',
    setup: [{ op: 'addService', service: S }],
    op: { op: 'updateReal', service: S, real: R },
    code: 'ENOENT',
    ipvsadm: ['-e', '-t', '10.96.0.10:80', '-r', '10.244.0.2:9376', '-m'],
  },
  {
    name: 'delete missing real server',
    setup: [{ op: 'addService', service: S }],
    op: { op: 'deleteReal', service: S, real: R },
    code: 'ENOENT',
    ipvsadm: ['-d', '-t', '10.96.0.10:80', '-r', '10.244.0.2:9376'],
  },
  {
    name: 'multicast real server (address not unicast)',
    setup: [{ op: 'addService', service: S }],
    op: { op: 'addReal', service: S, real: { ...R, address: '224.0.0.7' } },
    code: 'EINVAL',
    ipvsadm: ['-a', '-t', '10.96.0.10:80', '-r', '224.0.0.7:9376', '-m'],
  },
  {
    name: 'thresholds out of order',
    setup: [{ op: 'addService', service: S }],
    op: { op: 'addReal', service: S, real: { ...R, upperThreshold: 5, lowerThreshold: 9 } },
    code: 'ERANGE',
  },
];

for (const c of ERROR_CASES) {
  test(`error: ${c.name} -> ${c.code}, with ipvsadm's message`, async () => {
    await withIpvs(async (ns, ipvs) => {
      assert.deepEqual(
        (await ipvs.apply(c.setup)).filter((r) => !r.ok),
        [],
      );
      const [result] = await ipvs.apply([c.op]);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, c.code);
      assert.ok(result.errno > 0);
      if (c.ipvsadm) {
        const r = await ns.exec('ipvsadm', c.ipvsadm);
        assert.notEqual(r.code, 0);
        assert.equal(r.stderr.trim(), result.message, `ipvsadm said ${JSON.stringify(r.stderr)}`);
      }
    });
  });
}

test('an address that does not parse fails its own operation without reaching the kernel', async () => {
  await withIpvs(async (_ns, ipvs) => {
    const results = await ipvs.apply([
      { op: 'addService', service: { ...S, address: '10.96.0.300' } },
      { op: 'addService', service: { ...S, family: 'inet6', address: '10.96.0.1' } },
      { op: 'addService', service: S },
    ]);
    assert.equal(results[0].ok, false);
    assert.equal(!results[0].ok && results[0].code, 'EINVAL');
    assert.match(!results[0].ok ? results[0].message : '', /invalid IPv4 address '10\.96\.0\.300'/);
    assert.equal(!results[1].ok && results[1].code, 'EINVAL');
    assert.deepEqual(results[2], { ok: true });
    assert.equal((await ipvs.dump()).length, 1);
  });
});

test('a batch with failing operations reports each one and applies the rest', async () => {
  await withIpvs(async (ns, ipvs) => {
    const S2: VirtualServer = { ...S, port: 81 };
    const results = await ipvs.apply([
      { op: 'addService', service: S },
      { op: 'addService', service: S },
      { op: 'addReal', service: MISSING, real: R },
      { op: 'addReal', service: S, real: R },
      { op: 'addService', service: { ...S2, scheduler: 'nosuch' } },
      { op: 'addService', service: S2 },
      { op: 'deleteReal', service: S2, real: R },
      { op: 'addReal', service: S2, real: R },
    ]);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.code)),
      ['ok', 'EEXIST', 'ESRCH', 'ok', 'ENOENT', 'ok', 'ENOENT', 'ok'],
    );
    const dumped = await ipvs.dump();
    assert.deepEqual(dumped.map((e) => `${serviceKey(e.service)} ${e.reals.map(realKey).join(',')}`).sort(), [
      'TCP/10.96.0.10/80 10.244.0.2/9376',
      'TCP/10.96.0.10/81 10.244.0.2/9376',
    ]);
    assert.equal((await ns.run('ipvsadm', ['-Sn'])).split('\n').filter(Boolean).length, 4);
  });
});

test('info and timeouts agree with ipvsadm; zero and flush work', async () => {
  await withIpvs(async (ns, ipvs) => {
    const info = await ipvs.info();
    const banner = (await ns.run('ipvsadm', ['-Ln'])).split('\n')[0];
    assert.equal(banner, `IP Virtual Server version ${info.version} (size=${info.connTableSize})`);
    await ipvs.setTimeouts({ tcp: 901, tcpFin: 0, udp: 302 });
    const t = await ipvs.getTimeouts();
    assert.equal((await ns.run('ipvsadm', ['-L', '--timeout'])).trim(), `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpFin} ${t.udp}`);
    assert.equal(t.tcp, 901);
    assert.equal(t.udp, 302);
    await ns.run('ipvsadm', ['--set', '800', '100', '200']);
    assert.deepEqual(await ipvs.getTimeouts(), { tcp: 800, tcpFin: 100, udp: 200 });
    await ipvs.apply(addOps(TABLE));
    await ipvs.zero();
    await ipvs.flush();
    assert.deepEqual(await ipvs.dump(), []);
    assert.equal(await ns.run('ipvsadm', ['-Sn']), '');
  });
});

test('a dump of 10,000 services with their real servers matches ipvsadm -Sn', async (t) => {
  await withIpvs(async (ns, ipvs) => {
    const table: VirtualServerEntry[] = [];
    for (let i = 0; i < 10_000; i++) {
      const service = {
        family: 'inet',
        protocol: 'TCP',
        address: `10.96.${i >> 8}.${i & 255}`,
        port: 80,
        scheduler: 'rr',
        flags: 0,
        timeout: 0,
        netmask: 32,
      } as const;
      const reals = [0, 1].map(
        (k) =>
          ({
            family: 'inet',
            address: `10.${100 + k}.${i >> 8}.${i & 255}`,
            port: 8080,
            forward: 'masq',
            weight: 1,
            upperThreshold: 0,
            lowerThreshold: 0,
          }) as const,
      );
      table.push({
        service: { ...service, stats: zeroStats() },
        reals: reals.map((r) => ({ ...r, activeConns: 0, inactiveConns: 0, persistConns: 0, stats: zeroStats() })),
      });
    }
    let started = performance.now();
    const results = await ipvs.apply(addOps(table));
    const applyMs = performance.now() - started;
    assert.equal(results.filter((r) => !r.ok).length, 0);
    started = performance.now();
    const dumped = await ipvs.dump();
    const dumpMs = performance.now() - started;
    t.diagnostic(`apply ${results.length} ops: ${applyMs.toFixed(0)} ms; dump 10,000 services + 20,000 reals: ${dumpMs.toFixed(0)} ms`);
    assert.deepEqual(comparable(dumped), comparable(table));
    const saved = (await ns.run('ipvsadm', ['-Sn'], { timeoutMs: 900_000 })).split('\n').filter(Boolean).sort();
    const rendered = dumped
      .flatMap((e) => [
        `-A -t ${e.service.address}:${e.service.port} -s rr`,
        ...e.reals.map((r) => `-a -t ${e.service.address}:${e.service.port} -r ${r.address}:${r.port} -m -w ${r.weight}`),
      ])
      .sort();
    assert.deepEqual(saved, rendered);
  });
});

/** The nice value of each of this process's threads, from /proc (field 19 of a task's stat). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return []; // the thread ended between the listing and the read
    }
  });
}

/** Every nice value seen among this process's threads while `dump` runs. */
async function nicesDuring(dump: Promise<unknown>): Promise<Set<number>> {
  const seen = new Set<number>();
  let done = false;
  const finished = dump.finally(() => (done = true));
  while (!done) {
    for (const n of threadNices()) seen.add(n);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  return seen;
}

test("a background handle (dumpNice) reads the table on a thread of its own at that nice value; a plain one at the caller's", async () => {
  await withIpvs(async (ns, writer) => {
    const table: { service: VirtualServer; reals: RealServer[] }[] = [];
    for (let i = 0; i < 2000; i++) {
      table.push({
        service: { family: 'inet', protocol: 'TCP', address: `10.97.${i >> 8}.${i & 255}`, port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
        reals: [{ family: 'inet', address: `10.102.${i >> 8}.${i & 255}`, port: 8080, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
      });
    }
    assert.deepEqual(
      (await writer.apply(addOps(table))).filter((r) => !r.ok),
      [],
    );
    assert.ok(!threadNices().includes(10), 'no thread of this process starts at nice 10');
    const background = await openIpvs({ netns: ns.path, dumpSockets: 1, dumpNice: 10 });
    const plain = await openIpvs({ netns: ns.path, dumpSockets: 1 });
    try {
      let entries = 0;
      const seen = await nicesDuring(background.dump().then((d) => (entries = d.length)));
      assert.equal(entries, 2000);
      assert.ok(seen.has(10), `a thread at nice 10 read the table (seen: ${[...seen].join(', ')})`);
      assert.ok(!threadNices().includes(10), 'the reading thread is gone once the dump is done');
      assert.ok(!(await nicesDuring(plain.dump())).has(10), 'a plain handle reads at normal priority');
      // The writer's own work is untouched: its thread pool never ran at nice 10.
      assert.deepEqual(
        (await writer.apply([{ op: 'deleteService', service: table[0].service }])).filter((r) => !r.ok),
        [],
      );
      assert.ok(!threadNices().includes(10));
    } finally {
      background.close();
      plain.close();
    }
  });
});

function zeroStats() {
  return { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n };
}
