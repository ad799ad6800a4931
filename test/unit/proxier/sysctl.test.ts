import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { needsConnReuseModeZero, NodeSysctls, nodeSysctls, parseKernelRelease } from '../../../src/proxier/node-sysctls.js';
import { ProcSysctl } from '../../../src/sysctl/sysctl.js';

async function tree(values: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sysctl-'));
  for (const [name, value] of Object.entries(values)) {
    const path = join(root, ...name.split('.'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${value}\n`);
  }
  return root;
}

const FRESH = {
  'net.ipv4.vs.conntrack': '0',
  'net.ipv4.vs.expire_nodest_conn': '0',
  'net.ipv4.vs.expire_quiescent_template': '0',
  'net.ipv4.vs.conn_reuse_mode': '1',
  'net.ipv4.ip_forward': '0',
  'net.ipv4.conf.all.arp_ignore': '0',
  'net.ipv4.conf.all.arp_announce': '0',
};

test('kernel release parsing and conn_reuse_mode only below 5.9', () => {
  assert.deepEqual(parseKernelRelease('6.1.0-27-amd64'), { major: 6, minor: 1 });
  assert.equal(parseKernelRelease('garbage'), undefined);
  assert.equal(needsConnReuseModeZero('5.4.0-150-generic'), true);
  assert.equal(needsConnReuseModeZero('4.19.0'), true);
  assert.equal(needsConnReuseModeZero('5.9.0'), false);
  assert.equal(needsConnReuseModeZero('6.1.0-27-amd64'), false);
  assert.equal(needsConnReuseModeZero('5.10.0'), false);
  assert.ok(!nodeSysctls({ strictArp: false, kernelRelease: '6.1.0' }).some((s) => s.name.endsWith('conn_reuse_mode')));
  assert.ok(nodeSysctls({ strictArp: false, kernelRelease: '5.4.0' }).some((s) => s.name === 'net.ipv4.vs.conn_reuse_mode' && s.value === '0'));
});

test('read then write: wrong values are written once, a second pass writes nothing', async () => {
  const root = await tree(FRESH);
  try {
    const wanted = nodeSysctls({ strictArp: true, kernelRelease: '5.4.0' });
    const s = new NodeSysctls(new ProcSysctl({ root }), { wanted });
    const first = await s.apply();
    assert.deepEqual(first.errors, []);
    assert.equal(first.writes, 7);
    assert.equal((await readFile(join(root, 'net/ipv4/conf/all/arp_announce'), 'utf8')).trim(), '2');
    assert.equal((await readFile(join(root, 'net/ipv4/vs/conn_reuse_mode'), 'utf8')).trim(), '0');
    const second = await new NodeSysctls(new ProcSysctl({ root }), { wanted }).apply();
    assert.equal(second.writes, 0);
    assert.deepEqual(second.errors, []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('strict ARP off leaves arp_ignore and arp_announce alone; kernels >= 5.9 keep conn_reuse_mode', async () => {
  const root = await tree(FRESH);
  try {
    const proc = new ProcSysctl({ root });
    const s = new NodeSysctls(proc, { wanted: nodeSysctls({ strictArp: false, kernelRelease: '6.1.0' }) });
    assert.equal((await s.apply()).writes, 4);
    assert.deepEqual(proc.written.map((w) => w.name).sort(), [
      'net.ipv4.ip_forward',
      'net.ipv4.vs.conntrack',
      'net.ipv4.vs.expire_nodest_conn',
      'net.ipv4.vs.expire_quiescent_template',
    ]);
    assert.equal((await readFile(join(root, 'net/ipv4/vs/conn_reuse_mode'), 'utf8')).trim(), '1');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('check-only mode reports wrong values and writes nothing', async () => {
  const root = await tree({ ...FRESH, 'net.ipv4.ip_forward': '1' });
  try {
    const s = new NodeSysctls(new ProcSysctl({ root }), { wanted: nodeSysctls({ strictArp: false, kernelRelease: '6.1.0' }), checkOnly: true });
    const r = await s.apply();
    assert.equal(r.writes, 0);
    assert.deepEqual(r.errors.map((e) => e.object).sort(), [
      'sysctl net.ipv4.vs.conntrack',
      'sysctl net.ipv4.vs.expire_nodest_conn',
      'sysctl net.ipv4.vs.expire_quiescent_template',
    ]);
    assert.match(r.errors[0].message, /is 0, needs 1/);
    assert.equal((await readFile(join(root, 'net/ipv4/vs/conntrack'), 'utf8')).trim(), '0');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a missing ip_vs sysctl is a clear per-setting error naming the module', async () => {
  const root = await tree({ 'net.ipv4.ip_forward': '1' });
  try {
    const r = await new NodeSysctls(new ProcSysctl({ root }), { wanted: nodeSysctls({ strictArp: false, kernelRelease: '6.1.0' }) }).apply();
    assert.equal(r.writes, 0);
    assert.equal(r.errors.length, 3);
    assert.ok(r.errors.every((e) => e.code === 'ENOENT' && /ip_vs module/.test(e.message)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
