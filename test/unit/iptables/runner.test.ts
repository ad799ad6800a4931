// ExecCommandRunner against real child processes: exit status, output, input, timeouts, and the
// per-command timing the agent logs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandNotFoundError, CommandTimeoutError } from '../../../src/iptables/errors.js';
import { ExecCommandRunner, type CommandTiming } from '../../../src/iptables/runner.js';

describe('ExecCommandRunner', () => {
  it('passes stdin, returns stdout and the exit status, and reports each run', async () => {
    const ran: CommandTiming[] = [];
    const runner = new ExecCommandRunner({ onCommand: (r) => ran.push(r) });
    const r = await runner.run('sh', ['-c', 'cat; exit 3'], 'add X 10.0.0.1\n');
    assert.deepEqual(r, { code: 3, stdout: 'add X 10.0.0.1\n', stderr: '' });
    assert.equal(ran.length, 1);
    assert.equal(ran[0].cmd, 'sh');
    assert.deepEqual(ran[0].args, ['-c', 'cat; exit 3']);
    assert.equal(ran[0].code, 3);
    assert.equal(ran[0].stdinBytes, 15);
    assert.ok(ran[0].durationMs > 0);
  });

  it('reports a command that cannot be found, without an exit status', async () => {
    const ran: CommandTiming[] = [];
    const runner = new ExecCommandRunner({ onCommand: (r) => ran.push(r) });
    await assert.rejects(runner.run('ipvs-proxy-no-such-command', []), CommandNotFoundError);
    assert.equal(ran.length, 1);
    assert.equal(ran[0].code, undefined);
  });

  it('kills a command that outlives its deadline', async () => {
    const runner = new ExecCommandRunner({ timeoutMs: 200 });
    await assert.rejects(runner.run('sleep', ['5']), CommandTimeoutError);
  });
});
