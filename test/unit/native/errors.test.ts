import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DumpInterruptedError,
  fromNative,
  HandleClosedError,
  IpvsUnavailableError,
  MalformedReplyError,
  NetlinkError,
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
