// One LinkClient contract, two implementations: the in-memory fake and rtnetlink through the
// addon in a fresh namespace. Where they disagree, the kernel is right.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openLinks } from '../../src/netif/client.js';
import { FakeLinks } from '../support/fake-links.js';
import type { AddressOp } from '../../src/vocabulary/addresses.js';
import type { LinkClient } from '../../src/netif/types.js';
import { createNetns } from './helpers/netns.js';

/** A client, plus a way to make a link that someone else owns (a bridge) behind its back. */
interface Opened {
  client: LinkClient;
  foreignBridge(name: string): Promise<void>;
  done(): Promise<void>;
}

interface Subject {
  name: string;
  open(): Promise<Opened>;
}

const SUBJECTS: Subject[] = [
  {
    name: 'fake',
    open: async () => {
      const client = new FakeLinks();
      return { client, foreignBridge: async (name) => void client.addLink(name, 'bridge'), done: async () => undefined };
    },
  },
  {
    name: 'kernel',
    open: async () => {
      const ns = await createNetns('contract');
      const client = await openLinks({ netns: ns.path });
      return {
        client,
        foreignBridge: async (name) => void (await ns.run('ip', ['link', 'add', name, 'type', 'bridge'])),
        done: async () => {
          client.close();
          await ns.destroy();
        },
      };
    },
  },
];

/** Without the fe80::/64 link-local address the kernel gives a link once it is up. */
function global<T extends { address: string }>(list: T[]): T[] {
  return list.filter((a) => !a.address.startsWith('fe80:'));
}

function codes(rs: { ok: boolean; code?: string }[]): string[] {
  return rs.map((r) => (r.ok ? 'ok' : (r.code ?? '?')));
}

const CASES: { name: string; run(c: LinkClient, o: Opened): Promise<void> }[] = [
  {
    name: 'a fresh namespace lists only loopback addresses',
    async run(c) {
      const all = await c.listAddresses();
      assert.deepEqual(all.map((a) => `${a.ifname} ${a.address}/${a.prefixLen}`).sort(), ['lo 127.0.0.1/8', 'lo ::1/128']);
    },
  },
  {
    name: 'ensure, find and delete a dummy link',
    async run(c) {
      assert.equal(await c.linkIndex('kube-ipvs0'), undefined);
      const a = await c.ensureDummyLink('kube-ipvs0');
      assert.equal(a.created, true);
      assert.equal(a.up, false, 'created down, as kube-proxy creates it');
      assert.deepEqual(await c.ensureDummyLink('kube-ipvs0'), { ifindex: a.ifindex, created: false, up: false });
      assert.equal(await c.linkIndex('kube-ipvs0'), a.ifindex);
      assert.equal(await c.deleteLink('kube-ipvs0'), true);
      assert.equal(await c.deleteLink('kube-ipvs0'), false);
      assert.equal(await c.linkIndex('kube-ipvs0'), undefined);
    },
  },
  {
    name: 'a link of that name but another kind is not ours: not taken over, not deleted',
    async run(c, o) {
      await o.foreignBridge('kube-ipvs0');
      const index = await c.linkIndex('kube-ipvs0');
      assert.notEqual(index, undefined);
      const notOurs = (e: unknown): boolean => {
        const err = e as { code?: string; message?: string };
        assert.equal(err.code, 'EEXIST');
        assert.match(String(err.message), /kube-ipvs0 exists as a bridge link, not a dummy link/);
        return true;
      };
      await assert.rejects(c.ensureDummyLink('kube-ipvs0'), notOurs);
      await assert.rejects(c.deleteLink('kube-ipvs0', 'dummy'), notOurs);
      assert.equal(await c.linkIndex('kube-ipvs0'), index, 'the bridge is still there');
      assert.equal(await c.deleteLink('kube-ipvs0'), true, 'without a kind, any link is deleted');
      assert.equal(await c.deleteLink('kube-ipvs0', 'dummy'), false);
    },
  },
  {
    name: 'address batches: one result each, with the kernel errno',
    async run(c) {
      const { ifindex } = await c.ensureDummyLink('kube-ipvs0');
      const missing = ifindex + 1000;
      const ops: AddressOp[] = [
        { op: 'add', ifindex, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
        { op: 'add', ifindex, family: 'inet6', address: 'FD00:10:96::1', prefixLen: 128 },
        { op: 'add', ifindex, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
        { op: 'add', ifindex, family: 'inet', address: '10.96.0.300', prefixLen: 32 },
        { op: 'add', ifindex: missing, family: 'inet', address: '10.96.0.2', prefixLen: 32 },
        { op: 'delete', ifindex, family: 'inet', address: '10.96.0.9', prefixLen: 32 },
      ];
      assert.deepEqual(codes(await c.applyAddresses(ops)), ['ok', 'ok', 'EEXIST', 'EINVAL', 'ENODEV', 'EADDRNOTAVAIL']);
      const listed = global(await c.listAddresses(ifindex));
      assert.deepEqual(listed.map((a) => `${a.ifname} ${a.family} ${a.address}/${a.prefixLen}`).sort(), [
        'kube-ipvs0 inet 10.96.0.1/32',
        'kube-ipvs0 inet6 fd00:10:96::1/128',
      ]);
      assert.deepEqual(codes(await c.applyAddresses([{ op: 'delete', ifindex, family: 'inet6', address: 'fd00:10:96::1', prefixLen: 128 }])), ['ok']);
      assert.equal(global(await c.listAddresses(ifindex)).length, 1);
      await c.deleteLink('kube-ipvs0');
      assert.deepEqual(await c.listAddresses(ifindex), []);
    },
  },
  {
    name: 'local route batches: one result each; IPv6 needs the link up, which comes up without a link-local address',
    async run(c) {
      const { ifindex } = await c.ensureDummyLink('kube-ipvs0');
      const missing = ifindex + 1000;
      const ops: AddressOp[] = [
        { op: 'add', ifindex, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
        { op: 'add', ifindex, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
        { op: 'add', ifindex, family: 'inet6', address: 'fd00:10:96::1', prefixLen: 128 },
        { op: 'add', ifindex, family: 'inet', address: '10.96.0.300', prefixLen: 32 },
        { op: 'add', ifindex: missing, family: 'inet', address: '10.96.0.2', prefixLen: 32 },
        { op: 'delete', ifindex, family: 'inet', address: '10.96.0.9', prefixLen: 32 },
      ];
      assert.deepEqual(codes(await c.applyRoutes(ops)), ['ok', 'EEXIST', 'ENETDOWN', 'EINVAL', 'ENODEV', 'ESRCH']);
      assert.equal(await c.bringUpQuiet('kube-ipvs0'), true);
      assert.equal(await c.bringUpQuiet('kube-ipvs0'), false);
      assert.deepEqual(codes(await c.applyRoutes([ops[2]])), ['ok']);
      assert.deepEqual(await c.listAddresses(ifindex), [], 'no address at all, not even fe80::');
      const routes = await c.listLocalRoutes(ifindex);
      assert.deepEqual(routes.map((r) => `${r.family} ${r.address}/${r.prefixLen} ${r.ours}`).sort(), [
        'inet 10.96.0.1/32 true',
        'inet6 fd00:10:96::1/128 true',
      ]);
      // Loopback's own local routes are not kube-ipvs0's.
      const lo = (await c.linkIndex('lo')) as number;
      assert.equal(
        (await c.listLocalRoutes(lo)).some((r) => r.ours),
        false,
      );
      assert.deepEqual(
        codes(
          await c.applyRoutes([
            { ...ops[0], op: 'delete' },
            { ...ops[2], op: 'delete' },
          ]),
        ),
        ['ok', 'ok'],
      );
      assert.deepEqual(await c.listLocalRoutes(ifindex), []);
      await assert.rejects(c.bringUpQuiet('nosuchlink'), (e: { code?: string }) => e.code === 'ENODEV');
    },
  },
  {
    name: 'a VIP may hold the route and the address at once; the last IPv4 address takes the IPv4 routes along',
    async run(c) {
      const { ifindex } = await c.ensureDummyLink('kube-ipvs0');
      const v = (address: string, op: 'add' | 'delete' = 'add'): AddressOp => ({ op, ifindex, family: 'inet', address, prefixLen: 32 });
      assert.deepEqual(codes(await c.applyAddresses([v('10.96.0.5')])), ['ok']);
      assert.deepEqual(codes(await c.applyRoutes([v('10.96.0.5'), v('10.96.0.6')])), ['ok', 'ok']);
      const both = await c.listLocalRoutes(ifindex);
      assert.deepEqual(both.map((r) => `${r.address} ${r.ours ? 'ours' : `proto ${r.protocol}`}`).sort(), [
        '10.96.0.5 ours',
        '10.96.0.5 proto 2',
        '10.96.0.6 ours',
      ]);
      // Deleting the address leaves the agent's route (the kernel deletes only its own, proto kernel)...
      assert.deepEqual(codes(await c.applyAddresses([v('10.96.0.7'), v('10.96.0.5', 'delete')])), ['ok', 'ok']);
      assert.deepEqual(
        (await c.listLocalRoutes(ifindex))
          .filter((r) => r.ours)
          .map((r) => r.address)
          .sort(),
        ['10.96.0.5', '10.96.0.6'],
      );
      // ...but the link's last IPv4 address going flushes every IPv4 route through the link.
      assert.deepEqual(codes(await c.applyAddresses([v('10.96.0.7', 'delete')])), ['ok']);
      assert.deepEqual(await c.listLocalRoutes(ifindex), []);
    },
  },
  {
    name: 'a closed client rejects',
    async run(c) {
      c.close();
      await assert.rejects(async () => c.listAddresses());
    },
  },
];

for (const subject of SUBJECTS) {
  describe(`LinkClient contract: ${subject.name}`, () => {
    for (const c of CASES) {
      test(c.name, async () => {
        const opened = await subject.open();
        const { client, done } = opened;
        try {
          await c.run(client, opened);
        } finally {
          await done();
        }
      });
    }
  });
}
