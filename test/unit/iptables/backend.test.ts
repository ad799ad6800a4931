import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseBackend, commandsFor, supportsRandomFully } from '../../../src/iptables/backend.js';
import { CommandNotFoundError, CommandTimeoutError, SaveOutputParseError } from '../../../src/iptables/errors.js';
import { ExecCommandRunner } from '../../../src/iptables/runner.js';
import { countSavedRules, parseIpsetSave, parseIptablesSave } from '../../../src/iptables/save.js';

const RULES = (n: number): string => `*filter\n:INPUT ACCEPT [0:0]\n${'-A INPUT -j ACCEPT\n'.repeat(n)}COMMIT\n`;

describe('chooseBackend', () => {
  it('follows the kubelet hint chains first', () => {
    assert.equal(chooseBackend({ nft: '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n', legacy: RULES(50) }), 'nft');
    assert.equal(chooseBackend({ nft: RULES(50), legacy: '*mangle\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n' }), 'legacy');
  });
  it('otherwise picks the backend with more rules, nft on a tie', () => {
    assert.equal(chooseBackend({ nft: RULES(2), legacy: RULES(3) }), 'legacy');
    assert.equal(chooseBackend({ nft: RULES(3), legacy: RULES(3) }), 'nft');
    assert.equal(chooseBackend({ nft: '', legacy: '' }), 'nft');
  });
  it('names the tools per backend and family', () => {
    assert.deepEqual(commandsFor('legacy', 'inet6'), { save: 'ip6tables-legacy-save', restore: 'ip6tables-legacy-restore', binary: 'ip6tables-legacy' });
  });
});

describe('supportsRandomFully', () => {
  it('needs iptables 1.6.2 or newer', () => {
    assert.equal(supportsRandomFully('iptables v1.8.9 (nf_tables)'), true);
    assert.equal(supportsRandomFully('iptables v1.6.2'), true);
    assert.equal(supportsRandomFully('iptables v1.6.1'), false);
    assert.equal(supportsRandomFully('iptables v1.4.21'), false);
    assert.equal(supportsRandomFully('garbage'), false);
  });
});

describe('save parsers', () => {
  it('read chains and rules of iptables-save output', () => {
    const text = '# Generated\n*nat\n:PREROUTING ACCEPT [3:180]\n:X - [0:0]\n-A PREROUTING -m comment --comment "a b" -j X\n-A X -j RETURN\nCOMMIT\n';
    const saved = parseIptablesSave(text);
    assert.deepEqual(
      [...(saved.get('nat')?.entries() ?? [])],
      [
        ['PREROUTING', ['-m comment --comment "a b" -j X']],
        ['X', ['-j RETURN']],
      ],
    );
    assert.equal(countSavedRules(text), 2);
    assert.throws(() => parseIptablesSave('*nat\nbogus\n'), SaveOutputParseError);
  });
  it('read our sets of ipset save output and reject garbage', () => {
    const sets = parseIpsetSave(
      'create IPVS-PROXY6-VIP hash:ip family inet6 hashsize 1024\nadd IPVS-PROXY6-VIP fd00::1\ncreate OTHER hash:ip family inet\nadd OTHER 1.2.3.4\n',
    );
    assert.deepEqual([...sets.keys()], ['IPVS-PROXY6-VIP']);
    assert.equal(sets.get('IPVS-PROXY6-VIP')?.family, 'inet6');
    assert.deepEqual([...(sets.get('IPVS-PROXY6-VIP')?.entries ?? [])], ['fd00::1']);
    assert.throws(() => parseIpsetSave('add IPVS-PROXY-VIP 1.2.3.4\n'), SaveOutputParseError);
  });
});

describe('ExecCommandRunner', () => {
  it('passes stdin and returns status and output', async () => {
    const r = await new ExecCommandRunner().run('sh', ['-c', 'cat; echo err >&2; exit 3'], 'hello');
    assert.deepEqual(r, { code: 3, stdout: 'hello', stderr: 'err\n' });
  });
  it('throws typed errors for a missing command and a deadline', async () => {
    await assert.rejects(new ExecCommandRunner().run('no-such-tool-ipvsp', []), CommandNotFoundError);
    await assert.rejects(new ExecCommandRunner({ timeoutMs: 100 }).run('sleep', ['5']), CommandTimeoutError);
  });
});
