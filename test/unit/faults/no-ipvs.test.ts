// A kernel without IPVS (this host's): `ipvs-proxy run --once` fails at once with the module's
// name, exit 1, and leaves nothing half-configured. Runs the built CLI (dist/, `make build`) in a
// fresh network namespace (`unshare -n`) so the link and iptables checks see only what it did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../../', import.meta.url).pathname;

function hostHasIpvs(): boolean {
  return existsSync('/proc/net/ip_vs');
}

function canUnshare(): Promise<boolean> {
  return new Promise((resolve) => execFile('unshare', ['-n', 'true'], (err) => resolve(!err)));
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(script: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile('unshare', ['-n', 'sh', '-c', script], { cwd: repo, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('no IPVS: exit 1 naming ip_vs; no kube-ipvs0, no IPVS-PROXY chains or sets, no state file', async (t) => {
  if (hostHasIpvs()) return t.skip('this kernel has IPVS');
  if (!(await canUnshare())) return t.skip('unshare -n needs root');
  assert.ok(existsSync(join(repo, 'dist/cli/main.js')), 'dist/ is missing: run `npx tsc -p tsconfig.json` (make build)');
  const stateDir = mkdtempSync(join(tmpdir(), 'no-ipvs-'));
  try {
    // Everything after the agent runs in the same namespace; markers split the outputs.
    const r = await sh(
      `ip link set lo up
       node bin/ipvs-proxy.js run --once --manifests examples/hostnames --node-name node-a --state-dir ${stateDir} --healthz-bind-address 127.0.0.1:0 --metrics-bind-address 127.0.0.1:0
       echo "rc=$?"
       echo "--links"; ip -o link show
       echo "--iptables"; iptables-save 2>/dev/null; ip6tables-save 2>/dev/null
       echo "--ipset"; ipset list -n 2>/dev/null
       echo "--end"`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^rc=1$/m, `exit status: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /ip_vs/, 'the message names the module');
    assert.match(r.stderr, /modprobe ip_vs/);
    const section = (name: string, next: string): string => r.stdout.split(`--${name}\n`)[1]?.split(`--${next}`)[0] ?? '';
    assert.doesNotMatch(section('links', 'iptables'), /kube-ipvs0/);
    assert.doesNotMatch(section('iptables', 'ipset'), /IPVS-PROXY/);
    assert.doesNotMatch(section('ipset', 'end'), /\S/, 'no ipset created');
    assert.deepEqual(readdirSync(stateDir), [], 'no state file written');
    assert.doesNotMatch(r.stdout, /^synced:/m, 'no summary line pretending a sync');
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
