// Typed errors of the config layer. The CLI prints ConfigError.message and exits 2.

/** Where a value came from, so the message names the key the way the user wrote it. */
export type ConfigSource = 'flag' | 'config file' | 'kube-proxy config';

export interface ConfigIssue {
  /** The key as the user wrote it: '--sync-period', 'syncPeriod' or 'ipvs.syncPeriod'. */
  key: string;
  source: ConfigSource;
  /** What is wrong with the value. */
  problem: string;
  /** The values the key accepts, in words ('one of rr, wrr, ...', 'a duration like 30s'). */
  allowed: string;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  /** The config file involved, when there was one. */
  readonly file?: string;

  constructor(issues: readonly ConfigIssue[], file?: string) {
    super(formatIssues(issues, file));
    this.name = 'ConfigError';
    this.issues = issues;
    this.file = file;
  }
}

/** Values longer than this are cut where a message echoes them. */
export const MAX_ECHOED_CHARS = 200;

/** A value as a message shows it: cut to MAX_ECHOED_CHARS, with its full length noted. */
export function cutForMessage(text: string, max = MAX_ECHOED_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

function formatIssues(issues: readonly ConfigIssue[], file?: string): string {
  const head = issues.length === 1 ? 'invalid configuration:' : `invalid configuration (${issues.length} problems):`;
  const lines = issues.map((issue) => {
    const key = cutForMessage(issue.key);
    const where = issue.source === 'flag' || !file ? key : `${file}: ${key}`;
    return `  ${where}: ${issue.problem}; allowed: ${issue.allowed}`;
  });
  return [head, ...lines].join('\n');
}
