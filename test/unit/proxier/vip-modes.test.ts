// The VIP modes against the fake links: which form each VIP takes, the way between forms
// (adoption of kube-proxy's addresses, a change of mode), mode both's background fill, the
// check's view of routes, and cleanup.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Proxier } from '../../../src/proxier/proxier.js';
import type { ProxierDeps } from '../../../src/proxier/types.js';
import type { VipFillReport, VipMode } from '../../../src/proxier/vips.js';
import { change, desiredVs, noChange, real, state, vipsOf, vs, world, type World } from './helpers.js';

function proxierOf(w: World, mode: VipMode, extra: Partial<ProxierDeps> = {}): Proxier {
  return new Proxier({
    ipvs: w.ipvs,
    links: w.links,
    stateStore: w.store,
    conntrack: w.conntrack,
    sysctl: w.sysctl,
    clock: w.clock,
    settings: { ...w.settings, vipMode: mode },
    ...extra,
  });
}

async function routesOf(w: World): Promise<string[]> {
  const idx = await w.links.linkIndex('kube-ipvs0');
  if (idx === undefined) return [];
  return (await w.links.listLocalRoutes(idx))
    .filter((r) => r.ours)
    .map((r) => r.address)
    .sort();
}

const svc = (address: string) => desiredVs(vs(address, 80), [real('10.244.1.1')], { name: `s-${address}` });
const twoVips = () => state([svc('10.96.0.10'), svc('10.96.0.11')], ['10.96.0.10', '10.96.0.11']);

describe('vip mode routes', () => {
  it('makes each VIP local by one route, binds no address, and keeps the link down for IPv4', async () => {
    const w = world();
    const p = proxierOf(w, 'routes');
    const s = twoVips();
    await p.start(s);
    const r = await p.sync(noChange(s));
    assert.deepEqual(r.errors, []);
    assert.equal(r.addresses, 2);
    assert.deepEqual(await routesOf(w), ['10.96.0.10', '10.96.0.11']);
    assert.deepEqual(await vipsOf(w.links), []);
    assert.equal(w.links.isUp('kube-ipvs0'), false);
    assert.equal(p.localBy('10.96.0.10'), 'route');
    // Restart: the routes are read back as ours; nothing is written.
    const again = proxierOf(w, 'routes');
    assert.equal((await again.start(s)).kernelWrites, 0);
    assert.equal((await again.sync(noChange(s))).kernelWrites, 0);
  });

  it('brings the link up (quietly) for an IPv6 VIP, whose local route needs it', async () => {
    const w = world({ serviceCidrs: ['10.96.0.0/12', 'fd00:96::/64'] });
    const p = proxierOf(w, 'routes');
    const s = state([desiredVs(vs('fd00:96::10', 80), [real('fd00:244::1')])], ['fd00:96::10']);
    await p.start(s);
    assert.deepEqual((await p.sync(noChange(s))).errors, []);
    assert.equal(w.links.isUp('kube-ipvs0'), true);
    assert.deepEqual(await routesOf(w), ['fd00:96::10']);
  });

  it('deletes the route of a VIP that goes, and cleanup leaves no route and no link', async () => {
    const w = world();
    const p = proxierOf(w, 'routes');
    const s1 = twoVips();
    await p.start(s1);
    await p.sync(noChange(s1));
    const s2 = state([svc('10.96.0.10')], ['10.96.0.10']);
    assert.deepEqual((await p.sync(change(s1, s2))).errors, []);
    assert.deepEqual(await routesOf(w), ['10.96.0.10']);
    const c = await proxierOf(w, 'routes').cleanup();
    assert.deepEqual(c.errors, []);
    assert.equal(await w.links.linkIndex('kube-ipvs0'), undefined);
  });

  it("adopts kube-proxy's addresses: routes first, then all addresses but one IPv4 (its removal would flush the routes)", async () => {
    const w = world();
    await w.links.ensureDummyLink('kube-ipvs0');
    for (const a of ['10.96.0.10', '10.96.0.11', '10.96.0.12']) w.links.seedAddress('kube-ipvs0', a, 32);
    const p = proxierOf(w, 'routes');
    const s = state([svc('10.96.0.10'), svc('10.96.0.11'), svc('10.96.0.12')], ['10.96.0.10', '10.96.0.11', '10.96.0.12']);
    const started = await p.start(s);
    assert.deepEqual(started.foreign, []);
    assert.deepEqual((await p.sync(noChange(s))).errors, []);
    assert.deepEqual(await routesOf(w), ['10.96.0.10', '10.96.0.11', '10.96.0.12']);
    const left = await vipsOf(w.links);
    assert.equal(left.length, 1);
    const anchor = left[0].replace('/32', '');
    assert.equal(p.localBy(anchor), 'route+address');
    // The anchor's VIP goes: another VIP is bound first, so the other routes survive.
    const rest = ['10.96.0.10', '10.96.0.11', '10.96.0.12'].filter((a) => a !== anchor);
    const s2 = state(rest.map(svc), rest);
    assert.deepEqual((await p.sync(change(s, s2))).errors, []);
    assert.deepEqual(await routesOf(w), rest);
    assert.equal((await vipsOf(w.links)).length, 1);
    assert.equal((await p.check()).drift, undefined);
  });

  it("someone else's address on kube-ipvs0 is left alone and keeps the link at cleanup", async () => {
    const w = world();
    const p = proxierOf(w, 'routes');
    const s = twoVips();
    await p.start(s);
    await p.sync(noChange(s));
    // Every local route on the link is the agent's; the address added next is someone else's.
    const idx = (await w.links.linkIndex('kube-ipvs0')) as number;
    const routes = await w.links.listLocalRoutes(idx);
    assert.equal(
      routes.every((r) => r.ours),
      true,
    );
    w.links.seedAddress('kube-ipvs0', '192.168.50.5', 32);
    const c = await proxierOf(w, 'routes').cleanup();
    assert.deepEqual(c.errors, []);
    assert.notEqual(await w.links.linkIndex('kube-ipvs0'), undefined);
    assert.deepEqual(await vipsOf(w.links), ['192.168.50.5/32']);
  });

  it('the check sees a route deleted by hand, and verify puts it back', async () => {
    const w = world();
    const p = proxierOf(w, 'routes');
    const s = twoVips();
    await p.start(s);
    await p.sync(noChange(s));
    w.links.removeRoute('10.96.0.11');
    assert.match((await p.check()).drift ?? '', /local route 10\.96\.0\.11 is missing/);
    await p.verify(s);
    assert.deepEqual(await routesOf(w), ['10.96.0.10', '10.96.0.11']);
  });
});

describe('vip mode addresses', () => {
  it("binds addresses as kube-proxy does, and moves a routes mode's VIPs to addresses, address first", async () => {
    const w = world();
    const s = twoVips();
    const r = proxierOf(w, 'routes');
    await r.start(s);
    await r.sync(noChange(s));
    const a = proxierOf(w, 'addresses');
    await a.start(s);
    assert.deepEqual((await a.sync(noChange(s))).errors, []);
    assert.deepEqual(await vipsOf(w.links), ['10.96.0.10/32', '10.96.0.11/32']);
    assert.deepEqual(await routesOf(w), []);
    assert.equal(a.localBy('10.96.0.10'), 'address');
  });
});

describe('vip mode both', () => {
  it('routes in the sync, addresses filled in behind it a batch at a time, reported when caught up', async () => {
    const w = world();
    const reports: VipFillReport[] = [];
    const p = proxierOf(w, 'both', { vipFill: { batch: 2, pauseMs: 100 }, onVipAddressesCaughtUp: (r) => reports.push(r) });
    const vips = ['10.96.0.10', '10.96.0.11', '10.96.0.12', '10.96.0.13', '10.96.0.14'];
    const s = state(vips.map(svc), vips);
    await p.start(s);
    const r = await p.sync(noChange(s));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(await routesOf(w), vips);
    // The sync is done; the fill has made its first batch only.
    assert.ok((await vipsOf(w.links)).length < vips.length);
    assert.equal(reports.length, 0);
    // Another sync meanwhile goes through while the fill waits for its next turn.
    const s2 = state([...vips, '10.96.0.15'].map(svc), [...vips, '10.96.0.15']);
    assert.deepEqual((await p.sync(change(s, s2))).errors, []);
    assert.deepEqual(await routesOf(w), [...vips, '10.96.0.15']);
    for (let i = 0; i < 10 && reports.length === 0; i++) await w.clock.advance(100);
    await p.vipFillSettled();
    assert.equal(reports.length, 1);
    assert.equal(reports[0].added, 6);
    assert.deepEqual((await vipsOf(w.links)).map((a) => a.replace('/32', '')).sort(), [...vips, '10.96.0.15']);
    assert.equal(p.localBy('10.96.0.15'), 'route+address');
    assert.equal((await p.check()).drift, undefined);
  });

  it('a VIP removed while its address is being filled in does not stay bound', async () => {
    const w = world();
    const p = proxierOf(w, 'both', { vipFill: { batch: 1, pauseMs: 100 } });
    const s = twoVips();
    await p.start(s);
    await p.sync(noChange(s));
    const s2 = state([svc('10.96.0.10')], ['10.96.0.10']);
    await p.sync(change(s, s2));
    for (let i = 0; i < 5; i++) await w.clock.advance(100);
    await p.vipFillSettled();
    assert.deepEqual(await vipsOf(w.links), ['10.96.0.10/32']);
    assert.deepEqual(await routesOf(w), ['10.96.0.10']);
    const c = await p.cleanup();
    assert.deepEqual(c.errors, []);
    assert.equal(await w.links.linkIndex('kube-ipvs0'), undefined);
  });
});

describe('status view of the VIP forms', () => {
  it('vipForms reads the agent routes on kube-ipvs0, and whether the VIP is bound too', async () => {
    const { vipForms } = await import('../../../src/cli/status-command.js');
    const w = world();
    await w.links.ensureDummyLink('kube-ipvs0');
    w.links.seedRoute('kube-ipvs0', '10.96.0.10');
    w.links.seedRoute('kube-ipvs0', '10.96.0.11');
    w.links.seedAddress('kube-ipvs0', '10.96.0.11', 32);
    w.links.seedAddress('kube-ipvs0', '10.96.0.12', 32);
    assert.deepEqual([...(await vipForms(w.links))].sort(), [
      ['10.96.0.10', 'route'],
      ['10.96.0.11', 'route+address'],
    ]);
  });
});
