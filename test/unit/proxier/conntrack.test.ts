import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConntrackError, ConntrackTool, conntrackDeleteArgs } from '../../../src/proxier/conntrack.js';

/** A stand-in `conntrack` that logs its arguments and answers like the real tool. */
async function fakeTool(dir: string, exitCode: number, stderr: string): Promise<string> {
  const path = join(dir, 'conntrack');
  await writeFile(path, `#!/bin/sh\necho "$@" >> ${join(dir, 'args')}\necho "${stderr}" >&2\nexit ${exitCode}\n`);
  await chmod(path, 0o755);
  return path;
}

test('conntrack arguments: reply source address and port, family and protocol', () => {
  assert.deepEqual(conntrackDeleteArgs({ protocol: 'UDP', address: '10.244.1.3', port: 53 }), [
    '-D',
    '-f',
    'ipv4',
    '-p',
    'udp',
    '--reply-src',
    '10.244.1.3',
    '--reply-port-src',
    '53',
  ]);
  assert.deepEqual(conntrackDeleteArgs({ protocol: 'SCTP', address: 'fd00::3', port: 9 }).slice(0, 5), ['-D', '-f', 'ipv6', '-p', 'sctp']);
});

test('"0 flow entries have been deleted" is not an error; a real failure is a ConntrackError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conntrack-'));
  try {
    const none = new ConntrackTool([await fakeTool(dir, 1, 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.')]);
    assert.equal(await none.flush({ protocol: 'UDP', address: '10.244.1.3', port: 53 }), 1);
    assert.match(await readFile(join(dir, 'args'), 'utf8'), /-D -f ipv4 -p udp --reply-src 10.244.1.3 --reply-port-src 53/);
    const broken = new ConntrackTool([await fakeTool(dir, 1, 'conntrack v1.4.7 (conntrack-tools): Operation not permitted')]);
    await assert.rejects(
      broken.flush({ protocol: 'UDP', address: '10.244.1.3', port: 53 }),
      (e: unknown) => e instanceof ConntrackError && /Operation not permitted/.test(e.message),
    );
    await assert.rejects(new ConntrackTool([join(dir, 'missing')]).flush({ protocol: 'UDP', address: '10.244.1.3', port: 53 }), ConntrackError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
