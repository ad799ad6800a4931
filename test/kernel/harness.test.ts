// The kernel test harness itself: IPVS is really there, and each namespace has its own table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { withNetns } from './helpers/netns.js';

test('the kernel under test has IPVS', () => {
  const banner = readFileSync('/proc/net/ip_vs', 'utf8').split('\n')[0];
  assert.match(banner, /^IP Virtual Server version \d+\.\d+\.\d+ \(size=\d+\)$/);
});

test('every namespace starts with an empty IPVS table of its own', async () => {
  await withNetns(async (a) => {
    await withNetns(async (b) => {
      await a.run('ipvsadm', ['-A', '-t', '10.0.1.175:80', '-s', 'rr']);
      assert.equal(await a.run('ipvsadm', ['-Sn']), '-A -t 10.0.1.175:80 -s rr\n');
      assert.equal(await b.run('ipvsadm', ['-Sn']), '');
    });
  });
});
