// The demo's scenario as a test: `make demo` must keep doing what the README says it does.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function runDemo(): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['examples/demo.sh'], { cwd: repo, timeout: 600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

/** The pod names printed under one step's heading, in order. */
function answersOf(out: string, heading: string, until: string): string[] {
  const start = out.indexOf(heading);
  const end = out.indexOf(until, start + heading.length);
  assert.ok(start >= 0 && end > start, `the demo printed no "${heading}" section`);
  return [...out.slice(start, end).matchAll(/^ {4}(hostnames-7d4f9-\w+) \(saw /gm)].map((m) => m[1]);
}

test('make demo: all three pods answer, the not-ready one stops answering and comes back', { timeout: 650_000 }, async () => {
  const { code, out } = await runDemo();
  assert.equal(code, 0, `the demo failed:\n${out}`);
  const pods = ['hostnames-7d4f9-a1', 'hostnames-7d4f9-b2', 'hostnames-7d4f9-c3'];
  const clusterIp = answersOf(out, 'client pod -> http://10.0.1.175/', 'outside client');
  assert.equal(clusterIp.length, 6);
  assert.deepEqual([...new Set(clusterIp)].sort(), pods);
  // rr: consecutive answers come from different pods.
  for (let i = 1; i < clusterIp.length; i++) assert.notEqual(clusterIp[i], clusterIp[i - 1]);
  const nodePort = answersOf(out, 'outside client -> http://192.168.100.1:30080/', '==> 4.');
  assert.deepEqual([...new Set(nodePort)].sort(), pods);
  const withoutB2 = answersOf(out, '==> 4.', '... and ready again');
  assert.equal(withoutB2.length, 6);
  assert.ok(!withoutB2.includes('hostnames-7d4f9-b2'), 'the not-ready pod still answered');
  const back = answersOf(out, '... and ready again', '==> 5.');
  assert.deepEqual([...new Set(back)].sort(), pods);
  assert.match(out, /10\.0\.1\.175:80 .*default\/hostnames/);
  assert.match(out, /DEMO PASSED/);
});
