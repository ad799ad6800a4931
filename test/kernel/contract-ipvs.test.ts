// One contract, two implementations: every case runs against the in-memory fake and against
// the kernel through the addon (in a fresh namespace). Where they disagree, the kernel is right.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openIpvs } from '../../src/ipvs/client.js';
import { FakeIpvs } from '../support/fake-ipvs.js';
import { serviceKey } from '../../src/vocabulary/ipvs-keys.js';
import type { IpvsClient } from '../../src/ipvs/types.js';
import { UNREAD_STATS, type IpvsOp, type OpResult, type RealServer, type VirtualServer } from '../../src/vocabulary/ipvs.js';
import { createNetns } from './helpers/netns.js';
import { addOps, comparable, prepareRoutes, type Table } from './ipvs-fixtures.js';

interface Subject {
  name: string;
  open(): Promise<{ client: IpvsClient; done(): Promise<void> }>;
}

const SUBJECTS: Subject[] = [
  { name: 'fake', open: async () => ({ client: new FakeIpvs(), done: async () => undefined }) },
  {
    name: 'kernel',
    open: async () => {
      const ns = await createNetns('contract');
      await prepareRoutes(ns);
      const client = await openIpvs({ netns: ns.path });
      return {
        client,
        done: async () => {
          client.close();
          await ns.destroy();
        },
      };
    },
  },
];

const S: VirtualServer = { family: 'inet', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 };
const S6: VirtualServer = { family: 'inet6', protocol: 'UDP', address: 'fd00:10:96::a', port: 53, scheduler: 'wrr', flags: 1, timeout: 300, netmask: 64 };
const FW: VirtualServer = { family: 'inet', fwmark: 77, scheduler: 'sh', flags: 0x18, timeout: 0, netmask: 32 };
const R: RealServer = { family: 'inet', address: '10.244.0.2', port: 9376, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 };
const R6: RealServer = { family: 'inet6', address: 'fd00:10:244::2', port: 53, forward: 'masq', weight: 2, upperThreshold: 9, lowerThreshold: 3 };

const TABLE: Table = [
  { service: S, reals: [R, { ...R, address: '10.244.0.3', weight: 0 }] },
  { service: S6, reals: [R6] },
  { service: FW, reals: [{ ...R, port: 0, forward: 'route' }] },
];

function codes(results: OpResult[]): string[] {
  return results.map((r) => (r.ok ? 'ok' : r.code));
}

const CASES: { name: string; run(c: IpvsClient): Promise<void> }[] = [
  {
    name: 'an empty table dumps empty; an empty batch returns no results',
    async run(c) {
      assert.deepEqual(await c.dump(), []);
      assert.deepEqual(await c.apply([]), []);
    },
  },
  {
    name: 'what is added is dumped with the same settings',
    async run(c) {
      assert.deepEqual(
        codes(await c.apply(addOps(TABLE))),
        addOps(TABLE).map(() => 'ok'),
      );
      assert.deepEqual(comparable(await c.dump()), comparable(TABLE));
    },
  },
  {
    name: 'a dump without counters reads the same table, every entry sharing the zeroed stats',
    async run(c) {
      await c.apply(addOps(TABLE));
      const plain = await c.dump({ counters: false });
      assert.deepEqual(comparable(plain), comparable(await c.dump()));
      for (const e of plain) {
        assert.equal(e.service.stats, UNREAD_STATS);
        for (const r of e.reals) assert.equal(r.stats, UNREAD_STATS);
      }
      assert.ok(Object.isFrozen(UNREAD_STATS));
    },
  },
  {
    name: 'addresses come back in canonical form',
    async run(c) {
      const svc = { ...S6, address: 'FD00:10:96:0:0:0:0:A' };
      const real = { ...R6, address: 'fd00:10:244:0000::2' };
      assert.deepEqual(
        codes(
          await c.apply([
            { op: 'addService', service: svc },
            { op: 'addReal', service: svc, real },
          ]),
        ),
        ['ok', 'ok'],
      );
      const [e] = await c.dump();
      assert.equal(e.service.address, 'fd00:10:96::a');
      assert.equal(e.reals[0].address, 'fd00:10:244::2');
    },
  },
  {
    name: 'each mistake gets the kernel errno',
    async run(c) {
      const missing = { ...S, address: '10.96.0.99' };
      const ops: IpvsOp[] = [
        { op: 'addService', service: S },
        { op: 'addService', service: S },
        { op: 'addService', service: { ...S, port: 81, scheduler: 'nosuch' } },
        { op: 'deleteService', service: missing },
        { op: 'updateService', service: missing },
        { op: 'addReal', service: missing, real: R },
        { op: 'addReal', service: S, real: R },
        { op: 'addReal', service: S, real: R },
        { op: 'updateReal', service: S, real: { ...R, address: '10.244.0.9' } },
        { op: 'deleteReal', service: S, real: { ...R, address: '10.244.0.9' } },
        { op: 'addReal', service: S, real: { ...R, address: '10.244.0.5', upperThreshold: 1, lowerThreshold: 2 } },
        { op: 'addReal', service: S, real: { ...R6 } },
        { op: 'addService', service: { ...S, address: '10.96.0.256' } },
      ];
      assert.deepEqual(codes(await c.apply(ops)), [
        'ok',
        'EEXIST',
        'ENOENT',
        'ESRCH',
        'ESRCH',
        'ESRCH',
        'ok',
        'EEXIST',
        'ENOENT',
        'ENOENT',
        'ERANGE',
        'EINVAL',
        'EINVAL',
      ]);
      for (const r of await c.apply([{ op: 'addService', service: S }])) {
        assert.equal(r.ok, false);
        if (!r.ok) {
          assert.equal(r.errno, 17);
          assert.ok(r.message.length > 0);
        }
      }
    },
  },
  {
    name: 'updates replace settings; deletes remove',
    async run(c) {
      await c.apply(addOps(TABLE));
      const svc = { ...S, scheduler: 'wlc', flags: 1, timeout: 60, netmask: 24 };
      const real = { ...R, weight: 9, upperThreshold: 20, lowerThreshold: 4 };
      assert.deepEqual(
        codes(
          await c.apply([
            { op: 'updateService', service: svc },
            { op: 'updateReal', service: S, real },
          ]),
        ),
        ['ok', 'ok'],
      );
      let dumped = comparable(await c.dump());
      assert.deepEqual(dumped, comparable([{ service: svc, reals: [real, { ...R, address: '10.244.0.3', weight: 0 }] }, TABLE[1], TABLE[2]]));
      assert.deepEqual(
        codes(
          await c.apply([
            { op: 'deleteReal', service: S, real: R },
            { op: 'deleteService', service: S6 },
          ]),
        ),
        ['ok', 'ok'],
      );
      dumped = comparable(await c.dump());
      assert.deepEqual(dumped, comparable([{ service: svc, reals: [{ ...R, address: '10.244.0.3', weight: 0 }] }, TABLE[2]]));
    },
  },
  {
    name: 'flush empties the table; zero keeps it',
    async run(c) {
      await c.apply(addOps(TABLE));
      await c.zero();
      assert.equal((await c.dump()).length, 3);
      await c.flush();
      assert.deepEqual(await c.dump(), []);
    },
  },
  {
    name: "dumpReals reads one virtual server's real servers, as the full dump has them; a missing one has none",
    async run(c) {
      await c.apply(addOps(TABLE));
      const full = new Map((await c.dump()).map((e) => [serviceKey(e.service), e.reals]));
      for (const { service } of TABLE) {
        const reals = await c.dumpReals(service);
        assert.equal(reals.length, TABLE.find((e) => e.service === service)?.reals.length);
        assert.deepEqual(reals, full.get(serviceKey(service)), serviceKey(service));
      }
      assert.deepEqual(await c.dumpReals({ ...S, port: 81 }), []);
      assert.deepEqual(await c.dumpReals({ ...FW, fwmark: 78 }), []);
    },
  },
  {
    name: 'timeouts: 0 leaves a value unchanged',
    async run(c) {
      await c.setTimeouts({ tcp: 1000, tcpFin: 110, udp: 310 });
      await c.setTimeouts({ tcp: 0, tcpFin: 0, udp: 320 });
      assert.deepEqual(await c.getTimeouts(), { tcp: 1000, tcpFin: 110, udp: 320 });
    },
  },
  {
    name: 'info reports a version string',
    async run(c) {
      const i = await c.info();
      assert.match(i.version, /^\d+\.\d+\.\d+$/);
      assert.ok(i.connTableSize > 0);
    },
  },
  {
    name: 'a closed client rejects every call',
    async run(c) {
      c.close();
      await assert.rejects(async () => c.dump());
      await assert.rejects(async () => c.apply([{ op: 'addService', service: S }]));
    },
  },
];

for (const subject of SUBJECTS) {
  describe(`IpvsClient contract: ${subject.name}`, () => {
    for (const c of CASES) {
      test(c.name, async () => {
        const { client, done } = await subject.open();
        try {
          await c.run(client);
        } finally {
          await done();
        }
      });
    }
  });
}
