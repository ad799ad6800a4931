import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, defaultLogFormat } from '../../../src/ops/logger.js';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l !== ''));
  });
  return { stream, lines };
}

const tick = () => new Promise((r) => setImmediate(r));

test('JSON lines carry the consistent fields and the default node', async () => {
  const { stream, lines } = capture();
  const log = createLogger({ level: 'info', format: 'json', stream, defaultFields: { node: 'node-a' } });
  log.warn('add real server failed', { service: 'default/web', op: 'addReal', errno: 17, code: 'EEXIST' });
  log.debug('not shown at info');
  log.child({ op: 'sync' }).info('sync done', { error: new Error('boom') });
  await tick();
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]);
  assert.equal(first.level, 'warn');
  assert.equal(first.message, 'add real server failed');
  assert.equal(first.node, 'node-a');
  assert.equal(first.service, 'default/web');
  assert.equal(first.op, 'addReal');
  assert.equal(first.errno, 17);
  assert.equal(first.code, 'EEXIST');
  assert.match(first.timestamp, /^\d{4}-\d\d-\d\dT/);
  const second = JSON.parse(lines[1]);
  assert.equal(second.op, 'sync');
  assert.equal(second.node, 'node-a');
  assert.equal(second.error, 'boom');
});

test('text lines are readable: timestamp, level, message, then fields in a fixed order', async () => {
  const { stream, lines } = capture();
  const log = createLogger({ level: 'debug', format: 'text', stream, colors: false, defaultFields: { node: 'node-b' } });
  log.error('listen failed', { zeta: 'last', op: 'healthcheck-listen', service: 'shop/cart', errno: 98, detail: 'two words' });
  log.debug('details');
  await tick();
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^\S+Z error listen failed node=node-b service=shop\/cart op=healthcheck-listen errno=98 detail="two words" zeta=last$/);
  assert.match(lines[1], /^\S+Z debug details node=node-b$/);
});

test('format defaults to text on a terminal and JSON otherwise', () => {
  assert.equal(defaultLogFormat({ isTTY: true }), 'text');
  assert.equal(defaultLogFormat({ isTTY: false }), 'json');
  assert.equal(defaultLogFormat({}), 'json');
});
