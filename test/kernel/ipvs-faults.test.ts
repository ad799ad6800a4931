// Fault injection through IPVS_PROXY_FAULTS (native/README.md): a hung kernel is a bounded
// wait then a typed error, lost acks are "state unknown", a failed send is reported, and in
// every case the next call works on a fresh socket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withNetns } from './helpers/netns.js';
import { TEST_ADDON_PATH } from '../support/native-test-addon.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ipvs-faults-child.ts');

interface Step {
  step: string;
  ok: boolean;
  value?: unknown;
  error?: string;
  code?: string;
}

function runChild(netns: string, faults: string): Promise<Step[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', child, netns],
      { env: { ...process.env, IPVS_PROXY_ADDON: TEST_ADDON_PATH, IPVS_PROXY_FAULTS: faults }, timeout: 300_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
        else
          resolve(
            stdout
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Step),
          );
      },
    );
  });
}

// Receives: #1 family lookup at open, #2 the apply acks, #3 the first dump's services.
const SCENARIOS: { faults: string; expect: Omit<Step, 'value'>[]; values: unknown[] }[] = [
  {
    faults: 'hang:3',
    expect: [
      { step: 'apply', ok: true },
      { step: 'dump1', ok: false, error: 'NetlinkTimeoutError', code: 'ETIMEDOUT' },
      { step: 'dump2', ok: true },
    ],
    values: [[true], undefined, 1],
  },
  {
    faults: 'enobufs:2',
    expect: [
      { step: 'apply', ok: false, error: 'StateUnknownError', code: 'ENOBUFS' },
      { step: 'dump1', ok: true },
      { step: 'dump2', ok: true },
    ],
    values: [undefined, 1, 1],
  },
  {
    faults: 'fail-send:2',
    expect: [
      { step: 'apply', ok: false, error: 'NetlinkError', code: 'EIO' },
      { step: 'dump1', ok: true },
      { step: 'dump2', ok: true },
    ],
    values: [undefined, 0, 0],
  },
];

for (const s of SCENARIOS) {
  test(`IPVS_PROXY_FAULTS=${s.faults}`, async () => {
    await withNetns(async (ns) => {
      const steps = await runChild(ns.path, s.faults);
      assert.deepEqual(
        steps.map(({ value: _v, ...rest }) => rest),
        s.expect,
      );
      assert.deepEqual(
        steps.map((x) => x.value),
        s.values,
      );
    }, 'faults');
  });
}
