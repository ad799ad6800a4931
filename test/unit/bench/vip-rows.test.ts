// The bench report's rows for the VIP modes step, from a vip-modes.json as bench/vip-modes.sh writes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINEAR_MAX, vipModeRows, type VipModes } from '../../../bench/lib/vip-rows.js';

const step = (form: 'addresses' | 'routes', family: 'inet' | 'inet6', bindMs: number, moreMs: number, failed = 0) => ({
  form,
  family,
  vips: 10000,
  failed,
  bindMs,
  bindCpuMs: bindMs * 0.8,
  machineCpuMs: bindMs,
  moreMs,
  deleteLinkMs: 20,
});

const run: VipModes = {
  clock: 'instruction-counted',
  services: 10000,
  endpoints: 10,
  coldSync: [
    { mode: 'addresses', syncMs: 9000, agentWallMs: 29000, addressesAtExit: 10000, routesAtExit: 0 },
    { mode: 'routes', syncMs: 7200, agentWallMs: 27000, addressesAtExit: 0, routesAtExit: 10000 },
    { mode: 'both', syncMs: 7400, agentWallMs: 31000, addressesAtExit: 10000, routesAtExit: 10000 },
  ],
  // IPv4 routes linear (100 more cost what 100 cost on average); IPv6 routes grow (3 ms per 100 on average, 6 ms for 100 more).
  vipStep: [step('addresses', 'inet', 2000, 35), step('routes', 'inet', 300, 3), step('addresses', 'inet6', 1400, 24), step('routes', 'inet6', 300, 6)],
};

test('a row per mode for the cold sync T and the process wall, against addresses; no target, as the issue gives none', () => {
  const rows = vipModeRows(run);
  const t = rows.filter((r) => r.name.startsWith('vip modes: cold sync T'));
  assert.deepEqual(
    t.map((r) => [r.value, r.peerValue, r.ratio]),
    [
      [9000, null, null],
      [7200, 9000, 9000 / 7200],
      [7400, 9000, 9000 / 7400],
    ],
  );
  assert.ok(t.every((r) => r.target === null && r.met === null));
  assert.match(t[1].name, /--vip-mode routes \(0 addresses, 10000 routes at exit; instruction-counted guest clock\)/);
  assert.equal(rows.filter((r) => r.name.startsWith('vip modes: cold sync process wall')).length, 3);
});

test('the VIP step alone per family: routes against addresses, and routes held to a linear cost', () => {
  const rows = vipModeRows(run);
  const wall = rows.filter((r) => /^VIP step alone: .*local routes \(peer: addresses\), wall$/.test(r.name));
  assert.deepEqual(
    wall.map((r) => [r.name.includes('IPv6'), r.value, r.peerValue]),
    [
      [false, 300, 2000],
      [true, 300, 1400],
    ],
  );
  const linear = rows.filter((r) => r.target === `<= ${LINEAR_MAX} (linear)`);
  assert.equal(linear.length, 2, 'one per family, for routes only');
  assert.deepEqual(
    linear.map((r) => [r.name.includes('IPv6'), r.value, r.met]),
    [
      [false, 1, true],
      [true, 2, false],
    ],
  );
  const deferred = rows.find((r) => r.name.includes('IPv6') && r.name.includes('every CPU until quiet'));
  assert.deepEqual([deferred?.value, deferred?.peerValue], [300, 1400]);
});

test('a file from before IPv6 was measured (no family, no machine CPU) gives the IPv4 rows only; a failed add is a target missed', () => {
  const old: VipModes = {
    ...run,
    vipStep: [
      { form: 'addresses', vips: 10000, failed: 0, bindMs: 2000, bindCpuMs: 1600, moreMs: 35, deleteLinkMs: 210 },
      { form: 'routes', vips: 10000, failed: 3, bindMs: 340, bindCpuMs: 300, moreMs: 3, deleteLinkMs: 20 },
    ],
  };
  const rows = vipModeRows(old).filter((r) => r.name.startsWith('VIP step alone'));
  assert.ok(rows.length > 0 && rows.every((r) => r.name.includes('IPv4')));
  assert.equal(
    rows.some((r) => r.name.includes('every CPU')),
    false,
  );
  const wall = rows.find((r) => r.name.includes('wall'));
  assert.deepEqual([wall?.target, wall?.met], ['every add succeeds', false]);
  assert.match(wall?.name ?? '', /3 adds failed/);
});
