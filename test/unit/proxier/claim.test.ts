import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Proxier } from '../../../src/proxier/proxier.js';
import { ClaimError, FileStateStore, StateDirError } from '../../../src/proxier/state-record.js';
import { MemoryStateStore } from '../../support/memory-state-store.js';
import type { DesiredState } from '../../../src/model/types.js';
import { change, desiredVs, noChange, real, seed, state, table, vipsOf, vs, world } from './helpers.js';

/** A memory store whose writes fail while `failure` is set, as a full or read-only state dir does. */
class FailingStore extends MemoryStateStore {
  failure: Error | undefined;
  override async save(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    return super.save(text);
  }
}

function roFs(): Error {
  return new StateDirError('/var/lib/ipvs-proxy', 'read-only file system', 'EROFS');
}

test('a claim that cannot be written: the pass throws ClaimError in words and writes nothing to the kernel', async () => {
  const w = world();
  const store = new FailingStore();
  const p = new Proxier({ ipvs: w.ipvs, links: w.links, stateStore: store, conntrack: w.conntrack, sysctl: w.sysctl, clock: w.clock, settings: w.settings });
  const s = seed();
  await p.start(s);
  store.failure = roFs();
  await assert.rejects(p.sync(noChange(s)), (err: Error) => {
    assert.ok(err instanceof ClaimError);
    assert.match(err.message, /nothing written to the kernel.*read-only file system/);
    assert.equal((err as ClaimError).code, 'EROFS');
    return true;
  });
  assert.equal(w.writes(), 0, 'no virtual server, no address, no link');
  assert.deepEqual(p.owned(), { virtualServers: [], addresses: [] }, 'the failed claim is not kept as ownership');
  // A verification (what the runner runs next) fails the same way while the dir is broken.
  await assert.rejects(p.verify(s), ClaimError);
  assert.equal(w.writes(), 0);
  // The dir is fixed: the next pass claims, programs, and the record covers the kernel.
  store.failure = undefined;
  const r = await p.verify(s);
  assert.deepEqual(r.errors, []);
  assert.equal(r.pending, 0);
  assert.deepEqual(await vipsOf(w.links), ['10.96.0.10/32']);
  assert.deepEqual(Object.keys(store.record?.virtualServers ?? {}), ['TCP/10.96.0.10/80']);
  assert.deepEqual(store.record?.addresses, ['10.96.0.10']);
});

test('a record write that fails after the kernel was written makes the next pass write the record before anything else', async () => {
  const w = world();
  const store = new FailingStore();
  const p = new Proxier({ ipvs: w.ipvs, links: w.links, stateStore: store, conntrack: w.conntrack, sysctl: w.sysctl, clock: w.clock, settings: w.settings });
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  // The service goes: the deletion needs no claim, but the closing record write fails.
  const empty: DesiredState = state([], []);
  store.failure = roFs();
  const gone = await p.sync(change(s, empty));
  assert.equal(gone.pending, 1, 'the record is behind: a retry is wanted');
  assert.ok(gone.errors.some((e) => e.object === 'state record' && /read-only file system/.test(e.message)));
  // Nothing new to claim, yet the record is behind: the pass does not write the kernel.
  const back = state([desiredVs(vs('10.96.0.10', 80), [real('10.244.1.1')])], ['10.96.0.10']);
  const before = w.writes();
  await assert.rejects(p.sync(change(empty, back)), ClaimError);
  assert.equal(w.writes(), before);
  store.failure = undefined;
  const r = await p.verify(back);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(Object.keys(store.record?.virtualServers ?? {}), ['TCP/10.96.0.10/80']);
});

test('a restart finds what an earlier agent programmed without a record: exact matches of the desired state are adopted, nothing is orphaned', async () => {
  const w = world();
  const s = seed();
  // Programmed by an agent whose record was lost (the record is empty now).
  const first = w.proxier();
  await first.start(s);
  await first.sync(noChange(s));
  const fresh = new MemoryStateStore();
  const second = new Proxier({
    ipvs: w.ipvs,
    links: w.links,
    stateStore: fresh,
    conntrack: w.conntrack,
    sysctl: w.sysctl,
    clock: w.clock,
    settings: w.settings,
  });
  const started = await second.start(s);
  assert.deepEqual(started.foreign, []);
  assert.deepEqual(second.owned(), { virtualServers: ['TCP/10.96.0.10/80'], addresses: ['10.96.0.10'] });
  assert.deepEqual(Object.keys(fresh.record?.virtualServers ?? {}), ['TCP/10.96.0.10/80'], 'adopted objects are on disk before any write');
  const c = await second.cleanup();
  assert.deepEqual(c.errors, []);
  assert.deepEqual(await table(w.ipvs), []);
  assert.deepEqual(await vipsOf(w.links), []);
});

test('the file store says what is wrong with the state dir: a file where the directory should be', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ipvs-proxy-claim-'));
  try {
    const file = join(dir, 'state');
    await writeFile(file, 'not a directory');
    for (const path of [file, join(file, 'sub')]) {
      await assert.rejects(new FileStateStore(path).save('{}'), (err: Error) => {
        assert.ok(err instanceof StateDirError);
        assert.equal(err.problem, 'not a directory');
        assert.match(err.message, new RegExp(`state dir ${path}: not a directory \\((EEXIST|ENOTDIR)\\)`));
        return true;
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a pass that adds a virtual server writes iptables first; other passes program IPVS beside iptables', async () => {
  const w = world();
  const seen: string[] = [];
  const p = new Proxier({
    ipvs: w.ipvs,
    links: w.links,
    stateStore: w.store,
    conntrack: w.conntrack,
    sysctl: w.sysctl,
    clock: w.clock,
    settings: w.settings,
    iptables: {
      sync: async (st) => {
        // iptables-restore takes its time: several turns of the event loop.
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        seen.push(
          `iptables done for ${st.virtualServers.size}: kernel has ${(await w.ipvs.dump()).length} virtual servers, ${(await table(w.ipvs)).length} lines`,
        );
        return 1;
      },
    },
  });
  const s = seed();
  await p.start(s);
  await p.sync(noChange(s));
  assert.deepEqual(seen, ['iptables done for 1: kernel has 0 virtual servers, 0 lines'], 'no virtual server before its rules');
  const v = s.virtualServers.get('TCP/10.96.0.10/80')!;
  const more = state([desiredVs(v.service, [...v.reals, real('10.244.1.4')])], ['10.96.0.10']);
  await p.sync(change(s, more));
  assert.equal(seen[1], 'iptables done for 1: kernel has 1 virtual servers, 5 lines', 'a new real server went in beside the iptables sync');
  const two = state([...more.virtualServers.values(), desiredVs(vs('10.96.0.11', 80), [real('10.244.2.1')], { name: 'api' })], ['10.96.0.10', '10.96.0.11']);
  await p.sync(change(more, two));
  assert.equal(seen[2], 'iptables done for 2: kernel has 1 virtual servers, 5 lines');
  assert.equal((await w.ipvs.dump()).length, 2);
});

test('cleanup without a record removes nothing (iptables included) and says so; --without-record removes what the adoption rules call ours', async () => {
  const w = world({ serviceCidrs: ['10.96.0.0/12'] });
  const s = seed();
  const first = w.proxier();
  await first.start(s);
  await first.sync(noChange(s));
  let iptablesCleaned = 0;
  const other = new MemoryStateStore();
  const make = (): Proxier =>
    new Proxier({
      ipvs: w.ipvs,
      links: w.links,
      stateStore: other,
      conntrack: w.conntrack,
      sysctl: w.sysctl,
      clock: w.clock,
      settings: w.settings,
      iptables: { sync: async () => 0, cleanup: async () => ((iptablesCleaned += 1), 1) },
    });
  const before = w.writes();
  const refused = await make().cleanup();
  assert.equal(refused.noRecord, 'no state record');
  assert.equal(w.writes(), before);
  assert.equal(iptablesCleaned, 0);
  assert.equal((await table(w.ipvs)).length, 4);
  const forced = await make().cleanup({ withoutRecord: true });
  assert.equal(forced.noRecord, undefined);
  assert.deepEqual(forced.errors, []);
  assert.deepEqual(await table(w.ipvs), []);
  assert.deepEqual(await vipsOf(w.links), []);
  assert.equal(iptablesCleaned, 1);
});
