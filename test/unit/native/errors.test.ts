import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DumpInterruptedError,
  fromNative,
  HandleClosedError,
  IpvsUnavailableError,
  isDoubtCode,
  isStateInDoubt,
  MalformedReplyError,
  NetlinkError,
  netlinkErrorFor,
  NetlinkTimeoutError,
  StateUnknownError,
} from '../../../src/native/errors.js';

function nativeError(kind: string, errno: number, code: string): Error {
  return Object.assign(new Error(`${kind} happened`), { errno, code, op: 'apply', kind });
}

test('each native error kind becomes its typed class, keeping errno, code and op', () => {
  const cases: [string, number, string, new (...a: never[]) => NetlinkError][] = [
    ['unavailable', 2, 'ENOENT', IpvsUnavailableError],
    ['timeout', 110, 'ETIMEDOUT', NetlinkTimeoutError],
    ['dumpInterrupted', 4, 'EINTR', DumpInterruptedError],
    ['stateUnknown', 105, 'ENOBUFS', StateUnknownError],
    ['malformed', 74, 'EBADMSG', MalformedReplyError],
    ['closed', 9, 'EBADF', HandleClosedError],
    ['errno', 1, 'EPERM', NetlinkError],
  ];
  for (const [kind, errno, code, cls] of cases) {
    const e = fromNative(nativeError(kind, errno, code));
    assert.ok(e instanceof cls, kind);
    assert.ok(e instanceof NetlinkError);
    assert.equal((e as NetlinkError).errno, errno);
    assert.equal((e as NetlinkError).code, code);
    assert.equal((e as NetlinkError).op, 'apply');
    assert.equal((e as NetlinkError).message, `${kind} happened`);
  }
});

test('anything else passes through untouched', () => {
  const t = new TypeError('bad');
  assert.equal(fromNative(t), t);
  assert.equal(fromNative('x'), 'x');
});

test('one classifier: lost replies, timeouts and the doubt codes leave the kernel in doubt; other failures do not', () => {
  const inDoubt = [
    fromNative(nativeError('stateUnknown', 105, 'ENOBUFS')),
    fromNative(nativeError('timeout', 110, 'ETIMEDOUT')),
    new NetlinkError('interrupted', 4, 'EINTR', 'apply'),
    new NetlinkError('busy', 16, 'EBUSY', 'apply'),
  ];
  for (const e of inDoubt) assert.equal(isStateInDoubt(e), true, (e as Error).message);
  const known = [
    fromNative(nativeError('errno', 1, 'EPERM')),
    fromNative(nativeError('closed', 9, 'EBADF')),
    new NetlinkError('exists', 17, 'EEXIST', 'apply'),
    // Only the netlink clients' errors speak of kernel state: a plain Error with a code does not.
    Object.assign(new Error('write EPIPE'), { code: 'ENOBUFS' }),
    'ENOBUFS',
  ];
  for (const e of known) assert.equal(isStateInDoubt(e), false, String(e));
  assert.equal(isDoubtCode('EBUSY'), true);
  assert.equal(isDoubtCode('ESRCH'), false);
});

test('netlinkErrorFor gives the class the addon would for the same code', () => {
  assert.ok(netlinkErrorFor('ENOBUFS', 105, 'dump', 'm') instanceof StateUnknownError);
  assert.ok(netlinkErrorFor('ETIMEDOUT', 110, 'dump', 'm') instanceof NetlinkTimeoutError);
  const plain = netlinkErrorFor('EPERM', 1, 'dump', 'm');
  assert.equal(plain.constructor, NetlinkError);
  assert.deepEqual([plain.code, plain.errno, plain.op, plain.message], ['EPERM', 1, 'dump', 'm']);
});
