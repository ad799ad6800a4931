// The pure parsers built on their own with AddressSanitizer and UBSan, fed captured kernel
// replies, encoded requests, every truncation and random mutations of them (fuzz_main.cc).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadTestAddon } from '../../support/native-test-addon.js';
import { encodeLinkOps, encodeOps } from '../../../src/native/records.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');
const SOURCES = ['nl_attr.cc', 'ipvs_wire.cc', 'ipset_wire.cc', 'rtnl_wire.cc', 'records.cc'].map((f) => path.join(repo, 'native', f));

interface Fixture {
  services: string[];
  reals: string[][];
  info: string[];
  config: string[];
  addresses: string[];
}

test('the parsers survive captured, truncated and mutated input under ASan/UBSan', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ipvs-asan-'));
  try {
    const bin = path.join(dir, 'fuzz');
    await run('g++', [
      '-std=c++17',
      '-O1',
      '-g',
      '-fsanitize=address,undefined',
      '-fno-sanitize-recover=all',
      '-o',
      bin,
      ...SOURCES,
      path.join(here, 'fuzz_main.cc'),
    ]);
    const fx = JSON.parse(await readFile(path.join(repo, 'test', 'fixtures', 'native', 'ipvs-replies.json'), 'utf8')) as Fixture;
    const captured = [...fx.services, ...fx.reals.flat(), ...fx.info, ...fx.config, ...fx.addresses];
    const records = encodeOps([
      {
        op: 'addService',
        service: { family: 'inet6', protocol: 'TCP', address: 'fd00::1', port: 80, scheduler: 'sh', flags: 0x19, timeout: 60, netmask: 64, peName: 'sip' },
      },
      {
        op: 'addReal',
        service: { family: 'inet', fwmark: 3 },
        real: {
          family: 'inet',
          address: '10.0.0.2',
          port: 1,
          forward: 'tunnel',
          weight: 1,
          upperThreshold: 2,
          lowerThreshold: 1,
          tunnelType: 1,
          tunnelPort: 6080,
          tunnelFlags: 1,
        },
      },
    ]);
    const requests = loadTestAddon().encodeOps(records);
    const linkRecords = encodeLinkOps([
      { op: 'add', ifindex: 3, family: 'inet', address: '10.96.0.1', prefixLen: 32 },
      { op: 'delete', ifindex: 3, family: 'inet6', address: 'fd00:10:96::1', prefixLen: 128 },
    ]);
    const input = path.join(dir, 'inputs.hex');
    await writeFile(input, [...captured, requests.toString('hex'), records.toString('hex'), linkRecords.toString('hex')].join('\n'));
    const { stdout, stderr } = await run(bin, [input], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' }, maxBuffer: 16 << 20 });
    assert.doesNotMatch(stderr, /AddressSanitizer|runtime error/);
    const m = /inputs (\d+) accepted (\d+) rejected (\d+)/.exec(stdout);
    assert.ok(m, stdout);
    process.stdout.write(`fuzz under ASan/UBSan: ${stdout.trim()}\n`);
    assert.equal(Number(m[1]), captured.length + 3);
    // The captured replies themselves parse; most mutations and truncations do not.
    assert.ok(Number(m[2]) > captured.length);
    assert.ok(Number(m[3]) > Number(m[2]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
