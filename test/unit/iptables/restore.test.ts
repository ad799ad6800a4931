import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidIptablesSettingError } from '../../../src/proxier/iptables-policy/errors.js';
import {
  expectedSaved,
  renderIpsetDestroy,
  renderIpsetRestore,
  renderIptablesCleanup,
  renderIptablesFlush,
  renderIptablesRestore,
} from '../../../src/proxier/iptables-policy/restore.js';
import { Chain, chainSpecs, masqueradeMark, ruleCount } from '../../../src/proxier/iptables-policy/rules.js';
import { parseIpsetSave, parseIptablesSave } from '../../../src/iptables/save.js';
import { emptySets, ruleDataFrom, setName, SetRole } from '../../../src/proxier/iptables-policy/sets.js';
import { type IpSetMap } from '../../../src/iptables/ipsets.js';
import { manyServices, SETTINGS } from './fixtures.js';

const OPTS = { randomFully: true };

function lines(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

describe('rules', () => {
  it('are a fixed set: 15 rules in 6 chains plus 5 jumps (one more with --cluster-cidr)', () => {
    // The rules take no services as input; the manager tests check the count at 1 and 1,000.
    const text = renderIptablesRestore('inet', SETTINGS, OPTS);
    assert.equal(lines(text, '-A ').length + lines(text, '-I ').length, 20);
    assert.equal(ruleCount(chainSpecs('inet', SETTINGS, OPTS)), 20);
    assert.equal(ruleCount(chainSpecs('inet', { ...SETTINGS, clusterCidr: ['10.244.0.0/16'] }, OPTS)), 21);
    assert.equal(lines(text, ':').length, 6);
  });

  it('use the configured mark bit and --random-fully only when supported', () => {
    assert.equal(masqueradeMark(14), '0x4000');
    assert.equal(masqueradeMark(0), '0x1');
    assert.equal(masqueradeMark(31), '0x80000000');
    assert.throws(() => masqueradeMark(32), InvalidIptablesSettingError);
    assert.throws(() => masqueradeMark(1.5), InvalidIptablesSettingError);
    const bit3 = renderIptablesRestore('inet', { ...SETTINGS, masqueradeBit: 3 }, { randomFully: false });
    assert.ok(bit3.includes(`-A ${Chain.MARK_MASQ} -j MARK --set-xmark 0x8/0x8`));
    assert.ok(bit3.includes('-m mark ! --mark 0x8/0x8 -j RETURN'));
    assert.equal(bit3.includes('random-fully'), false);
    assert.equal(
      lines(renderIptablesRestore('inet', SETTINGS, OPTS), '-A IPVS-PROXY-POSTROUTING').filter((l) => l.endsWith('-j MASQUERADE --random-fully')).length,
      2,
    );
  });

  it('masquerade ClusterIP traffic per --masquerade-all and --cluster-cidr', () => {
    const services = (s: typeof SETTINGS): string[] => chainSpecs('inet', s, OPTS).find((c) => c.name === Chain.SERVICES)?.rules ?? [];
    const plain = services(SETTINGS);
    assert.equal(plain.filter((r) => r.includes('CLUSTER-IP')).length, 0, 'pod traffic keeps its source');
    assert.ok(plain.some((r) => r.includes('-m set --match-set IPVS-PROXY-VIP src -m set --match-set IPVS-PROXY-VIP-PORT dst,dst')));
    const all = services({ ...SETTINGS, masqueradeAll: true });
    assert.ok(all.some((r) => r.includes('masquerade all ClusterIP traffic')));
    const cidr = services({ ...SETTINGS, clusterCidr: ['10.244.0.0/16'] });
    assert.ok(cidr.some((r) => r.includes(`-m set ! --match-set ${setName('inet', SetRole.CLUSTER_CIDR)} src`)));
    // A cluster CIDR of the other family does not apply.
    assert.deepEqual(services({ ...SETTINGS, clusterCidr: ['fd00::/48'] }), plain);
  });

  it('reject with the family ICMP type and reference the family sets', () => {
    const v6 = renderIptablesRestore('inet6', SETTINGS, OPTS);
    assert.ok(v6.includes('--reject-with icmp6-port-unreachable'));
    assert.ok(v6.includes('IPVS-PROXY6-VIP dst'));
    assert.equal(v6.includes('IPVS-PROXY-VIP '), false);
  });
});

describe('renderIptablesRestore', () => {
  it('declares only our chains and inserts each jump once', () => {
    const text = renderIptablesRestore('inet', SETTINGS, OPTS);
    for (const decl of lines(text, ':')) assert.match(decl, /^:IPVS-PROXY-[A-Z-]+ - \[0:0\]$/);
    assert.deepEqual(lines(text, '-I '), [
      '-I PREROUTING -m comment --comment "ipvs-proxy service traffic" -j IPVS-PROXY-SERVICES',
      '-I OUTPUT -m comment --comment "ipvs-proxy service traffic" -j IPVS-PROXY-SERVICES',
      '-I POSTROUTING -m comment --comment "ipvs-proxy SNAT" -j IPVS-PROXY-POSTROUTING',
      '-I INPUT -m comment --comment "ipvs-proxy VIP filter and source ranges" -j IPVS-PROXY-INPUT',
      '-I FORWARD -m comment --comment "ipvs-proxy replies of IPVS connections" -j IPVS-PROXY-FORWARD',
    ]);
  });

  it('renders nothing when the kernel already holds our rules, next to foreign ones', () => {
    const saved = expectedSaved('inet', SETTINGS, OPTS);
    saved.get('nat')?.get('PREROUTING')?.unshift('-j DOCKER');
    saved.get('nat')?.set('DOCKER', ['-d 10.0.0.1/32 -j RETURN']);
    assert.equal(renderIptablesRestore('inet', SETTINGS, OPTS, saved), '');
  });

  it('rewrites a drifted chain without re-adding jumps, and deletes stale chains of ours', () => {
    const saved = expectedSaved('inet', SETTINGS, OPTS);
    saved.get('nat')?.set(Chain.SERVICES, []);
    saved.get('nat')?.set('IPVS-PROXY-OLD', ['-j RETURN']);
    saved.get('nat')?.get('PREROUTING')?.push('-j IPVS-PROXY-OLD');
    const text = renderIptablesRestore('inet', SETTINGS, OPTS, saved);
    assert.deepEqual(lines(text, '-I '), []);
    assert.ok(text.includes(':IPVS-PROXY-OLD - [0:0]\n'));
    assert.ok(text.includes('-D PREROUTING -j IPVS-PROXY-OLD\n'));
    assert.ok(text.indexOf('-D PREROUTING -j IPVS-PROXY-OLD') < text.indexOf('-X IPVS-PROXY-OLD'));
  });

  it('re-adds only the jump someone deleted', () => {
    const saved = expectedSaved('inet', SETTINGS, OPTS);
    saved.get('filter')?.set('FORWARD', []);
    assert.deepEqual(lines(renderIptablesRestore('inet', SETTINGS, OPTS, saved), '-I '), [
      '-I FORWARD -m comment --comment "ipvs-proxy replies of IPVS connections" -j IPVS-PROXY-FORWARD',
    ]);
  });
});

describe('renderIptablesCleanup and renderIptablesFlush', () => {
  it('delete our jumps and chains, and nothing of anyone else', () => {
    const saved = expectedSaved('inet', SETTINGS, OPTS);
    saved.get('nat')?.get('POSTROUTING')?.push('-s 10.9.0.0/16 -j MASQUERADE');
    saved.get('nat')?.set('KUBE-POSTROUTING', ['-j RETURN']);
    const text = renderIptablesCleanup(saved);
    assert.equal(text.includes('KUBE-POSTROUTING'), false);
    assert.equal(text.includes('10.9.0.0'), false);
    assert.equal(lines(text, '-D ').length, 5);
    assert.equal(lines(text, '-X ').length, 6);
    assert.equal(renderIptablesCleanup(parseIptablesSave('*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DOCKER\nCOMMIT\n')), '');
  });

  it('flush empties our chains only', () => {
    const text = renderIptablesFlush(expectedSaved('inet', SETTINGS, OPTS));
    assert.equal(lines(text, ':').length, 6);
    assert.equal(lines(text, '-').length, 0);
  });
});

describe('renderIpsetRestore', () => {
  const desiredOf = (n: number): IpSetMap => ruleDataFrom(manyServices(n), SETTINGS);

  it('creates every set once and adds every entry from nothing', () => {
    const text = renderIpsetRestore(new Map(), desiredOf(2));
    assert.equal(lines(text, 'create ').length, 9);
    assert.ok(lines(text, 'create ').every((l) => l.endsWith(' -exist')));
    assert.ok(text.includes('add IPVS-PROXY-CLUSTER-IP 10.96.0.2,tcp:80 -exist'));
    assert.equal(lines(text, 'del ').length, 0);
  });

  it('writes only the difference, and nothing when equal', () => {
    const two = desiredOf(2);
    assert.equal(renderIpsetRestore(desiredOf(2), two), '');
    const text = renderIpsetRestore(desiredOf(3), two);
    assert.equal(lines(text, 'create ').length, 0);
    assert.ok(lines(text, 'del ').length > 0);
    assert.equal(lines(text, 'add ').length, 0);
    assert.ok(text.includes('del IPVS-PROXY-NODE-PORT 192.168.0.10,tcp:30002 -exist'));
  });

  it('round-trips through ipset save output', () => {
    const desired = desiredOf(3);
    const saved: string[] = [];
    for (const s of desired.values()) {
      saved.push(`create ${s.name} ${s.type} family ${s.family} hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1`);
      for (const e of s.entries) saved.push(`add ${s.name} ${e}`);
    }
    saved.push('create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536', 'add KUBE-CLUSTER-IP 10.96.0.1,tcp:443');
    const parsed = parseIpsetSave(saved.join('\n') + '\n');
    assert.equal(parsed.has('KUBE-CLUSTER-IP'), false, 'foreign sets are not ours');
    assert.equal(renderIpsetRestore(parsed, desired), '');
  });

  it('destroys and recreates a set of ours with the wrong type', () => {
    const current = emptySets(['inet']);
    const vip = current.get(setName('inet', SetRole.VIP));
    assert.ok(vip);
    vip.type = 'hash:net';
    const text = renderIpsetRestore(current, emptySets(['inet']));
    assert.deepEqual(text.trim().split('\n'), ['destroy IPVS-PROXY-VIP', 'create IPVS-PROXY-VIP hash:ip family inet hashsize 1024 maxelem 1048576 -exist']);
    assert.equal(renderIpsetDestroy([]), '');
    assert.equal(renderIpsetDestroy(['A', 'B']), 'destroy A\ndestroy B\n');
  });
});
