// `status --names` with a state record that cannot be parsed says why, on stderr, before it
// refuses: an operator sees the broken file, not only "no record". Runs the built CLI (dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_FILE } from '../../../src/proxier/state-record.js';

const repo = new URL('../../../', import.meta.url).pathname;

test('status --names with an unreadable record names the file and the parse error, then refuses', async () => {
  assert.ok(existsSync(join(repo, 'dist/cli/main.js')), 'dist/ is missing: run `npx tsc -p tsconfig.json` (make build)');
  const dir = mkdtempSync(join(tmpdir(), 'status-record-'));
  try {
    writeFileSync(join(dir, STATE_FILE), '{"version": 1, "virtualServers": [');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('node', ['bin/ipvs-proxy.js', 'status', '--names', '--state-dir', dir], { cwd: repo, timeout: 30_000 }, (err, _out, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
      );
    });
    assert.match(r.stderr, new RegExp(`ipvs-proxy status: .*${STATE_FILE}.*not JSON`));
    assert.match(r.stderr, /--names and --owned need the agent's state record; none is readable/);
    assert.equal(r.code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
