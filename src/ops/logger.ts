// The agent's and the CLI's logger. Libraries never log: they return warnings or throw, and the
// agent turns those into lines through this one factory so every line carries the same fields.
import type { Writable } from 'node:stream';
import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'text';

/**
 * The fields every component uses, spelled once so that `jq 'select(.service=="default/web")'`
 * finds every line about a Service whoever wrote it.
 */
export interface LogFields {
  /** "namespace/name" of the Kubernetes Service concerned. */
  service?: string;
  node?: string;
  /** What was being done: 'sync', 'addService', 'healthcheck-listen', 'fleet-publish', ... */
  op?: string;
  /** Numeric errno of a failed kernel or socket call. */
  errno?: number;
  /** Symbolic error code ('EEXIST', 'EADDRINUSE'). */
  code?: string;
  [key: string]: unknown;
}

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (e.g. the node name, or op: 'sync'). */
  child(fields: LogFields): Logger;
  /** Flush and release the transports. */
  close(): void;
}

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Fields on every line, typically { node }. */
  defaultFields?: LogFields;
  /** Where lines go; stderr when absent (stdout stays free for command output). */
  stream?: Writable;
  /** Colour the level in text format; defaults to whether the stream is a terminal. */
  colors?: boolean;
}

/**
 * JSON when stderr is not a terminal (a Pod's log), readable text on a terminal, unless the
 * setting says otherwise.
 */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY ? 'text' : 'json';
}

// Text lines: "2026-11-25T18:00:00.000Z warn  message service=default/web op=sync errno=17".
// Values that contain spaces or quotes are JSON-quoted so a line still splits on spaces.
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? String(value);
}

const FIELD_ORDER = ['node', 'service', 'op', 'errno', 'code'];

function textFormat(colors: boolean): winston.Logform.Format {
  const colorizer = winston.format.colorize();
  return winston.format.printf((info) => {
    const { level, message, timestamp, ...rest } = info as Record<string, unknown> & {
      level: string;
      message: unknown;
      timestamp?: string;
    };
    const keys = Object.keys(rest).filter((k) => typeof k === 'string' && rest[k] !== undefined);
    keys.sort((a, b) => {
      const ia = FIELD_ORDER.indexOf(a);
      const ib = FIELD_ORDER.indexOf(b);
      return (ia < 0 ? FIELD_ORDER.length : ia) - (ib < 0 ? FIELD_ORDER.length : ib) || a.localeCompare(b);
    });
    const fields = keys.map((k) => `${k}=${formatValue(rest[k])}`).join(' ');
    const lvl = colors ? colorizer.colorize(level, level.padEnd(5)) : level.padEnd(5);
    return `${timestamp ?? ''} ${lvl} ${String(message)}${fields ? ' ' + fields : ''}`;
  });
}

// Errors put in fields serialise as {} in JSON; keep their message (and errno/code) instead.
const errorFields = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (value instanceof Error) info[key] = value.message;
    else if (typeof value === 'bigint') info[key] = value.toString();
  }
  return info;
});

class WinstonLogger implements Logger {
  constructor(private readonly inner: winston.Logger) {}
  error(message: string, fields?: LogFields): void {
    this.inner.log('error', message, fields ?? {});
  }
  warn(message: string, fields?: LogFields): void {
    this.inner.log('warn', message, fields ?? {});
  }
  info(message: string, fields?: LogFields): void {
    this.inner.log('info', message, fields ?? {});
  }
  debug(message: string, fields?: LogFields): void {
    this.inner.log('debug', message, fields ?? {});
  }
  child(fields: LogFields): Logger {
    return new WinstonLogger(this.inner.child(fields));
  }
  close(): void {
    this.inner.close();
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream;
  const transport = stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] });
  const colors = options.colors ?? Boolean(((stream ?? process.stderr) as { isTTY?: boolean }).isTTY);
  const format =
    options.format === 'json'
      ? winston.format.combine(errorFields(), winston.format.timestamp(), winston.format.json())
      : winston.format.combine(errorFields(), winston.format.timestamp(), textFormat(colors));
  const inner = winston.createLogger({
    level: options.level,
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    defaultMeta: options.defaultFields,
    format,
    transports: [transport],
  });
  return new WinstonLogger(inner);
}
