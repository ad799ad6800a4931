// Bind addresses as the agent reads them: IPv4, [IPv6], and [IPv4] as Go's net.SplitHostPort
// (kube-proxy's parser) also takes, which lets one manifest write [$(HOST_IP)]:port for either family.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/errors.js';
import { loadSettings } from '../../../src/config/load.js';
import { parseBindAddress as parseListenAddress } from '../../../src/ops/http.js';

const env = { NODE_NAME: 'node-a' };
const metricsAddress = (value: string): string => loadSettings({ flags: { metricsBindAddress: value }, env }).settings.metricsBindAddress;

describe('--metrics-bind-address and --healthz-bind-address', () => {
  it('take a node address of either family in brackets, and hand the listener its plain form', () => {
    assert.equal(metricsAddress('[10.0.0.5]:10249'), '10.0.0.5:10249');
    assert.equal(metricsAddress('[fd00:122::11]:10249'), '[fd00:122::11]:10249');
    assert.equal(metricsAddress('10.0.0.5:10249'), '10.0.0.5:10249');
    assert.deepEqual(parseListenAddress(metricsAddress('[10.0.0.5]:10249')), { host: '10.0.0.5', port: 10249 });
    assert.deepEqual(parseListenAddress(metricsAddress('[fd00:122::11]:10249')), { host: 'fd00:122::11', port: 10249 });
  });

  it('refuse a port above 65535, a host name, and brackets around something else', () => {
    for (const bad of ['0.0.0.0:99999', 'localhost:10249', '[node-a]:10249', '[10.0.0.5]', 'fd00::5:10249']) {
      assert.throws(
        () => loadSettings({ flags: { healthzBindAddress: bad }, env }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.issues[0].key === '--healthz-bind-address' &&
          error.issues[0].problem === `'${bad}' is not an IP address with a port`,
        bad,
      );
    }
  });
});
