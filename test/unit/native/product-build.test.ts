// The product's addon carries no test code: the encoding hooks and fault injection exist only in
// the tests' build (binding.gyp target ipvs_native_test).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { addonPath, loadNative } from '../../../src/native/binding.js';
import { loadTestAddon } from '../../support/native-test-addon.js';

test("the product addon exports the kernel handles and no test hook; the tests' build has the hooks", () => {
  const product = loadNative() as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(product).sort(), ['openIpvs', 'openLinks', 'openSets', 'releaseFreeMemory']);
  const testBuild = loadTestAddon() as unknown as Record<string, unknown>;
  for (const hook of ['encodeOps', 'decodeOps', 'decodeDump', 'encodeLinkOps', 'decodeAddressDump', 'decodeRouteDump', 'encodeFailures'])
    assert.equal(typeof testBuild[hook], 'function', hook);
});

test('the product addon contains no fault injection: IPVS_PROXY_FAULTS is not in its binary', async () => {
  const strings = await new Promise<string>((resolve, reject) =>
    execFile('grep', ['-c', 'IPVS_PROXY_FAULTS', addonPath()], (err, stdout) => (err && err.code !== 1 ? reject(err) : resolve(stdout.trim()))),
  );
  assert.equal(strings, '0');
});
