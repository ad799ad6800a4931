// A small structural checker for the manifest kinds the agent reads. It walks the object once,
// allocates nothing when the object is well-formed, and names the first bad field: at 10,000
// services the general-purpose schema library it replaces copied every object it checked and
// was the largest allocator of a cold start. Fields not listed are allowed and not looked at.

/** Where the first problem is (path segments from the object's root) and what it is. */
export interface ShapeIssue {
  path: (string | number)[];
  message: string;
}

/** Returns undefined when `value` fits, else the issue; `path` is filled in on the way back up. */
export type Check = (value: unknown) => ShapeIssue | undefined;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'NaN';
  return typeof v;
}

const expected = (what: string, v: unknown): ShapeIssue => ({ path: [], message: `expected ${what}, received ${typeName(v)}` });

export const string: Check = (v) => (typeof v === 'string' ? undefined : expected('string', v));
export const nonEmptyString: Check = (v) =>
  typeof v !== 'string' ? expected('string', v) : v.length === 0 ? { path: [], message: 'must not be empty' } : undefined;
export const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : expected('boolean', v));
export const integer: Check = (v) =>
  typeof v !== 'number' ? expected('number', v) : Number.isInteger(v) ? undefined : { path: [], message: `expected an integer, received ${v}` };

export function literal(want: string): Check {
  return (v) => (v === want ? undefined : { path: [], message: `expected "${want}", received ${typeof v === 'string' ? `"${v}"` : typeName(v)}` });
}

/** Absent (undefined) is fine; with `orNull`, null too. */
export function optional(check: Check, orNull = false): Check {
  return (v) => (v === undefined || (orNull && v === null) ? undefined : check(v));
}

export function oneOf(...checks: Check[]): Check {
  return (v) => {
    let first: ShapeIssue | undefined;
    for (const c of checks) {
      const issue = c(v);
      if (issue === undefined) return undefined;
      first ??= issue;
    }
    return first;
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function within(key: string | number, issue: ShapeIssue): ShapeIssue {
  issue.path.unshift(key);
  return issue;
}

export function array(item: Check): Check {
  return (v) => {
    if (!Array.isArray(v)) return expected('array', v);
    for (let i = 0; i < v.length; i++) {
      const issue = item(v[i]);
      if (issue !== undefined) return within(i, issue);
    }
    return undefined;
  };
}

/** A mapping whose named fields are checked; other fields are allowed. */
export function object(fields: Record<string, Check>): Check {
  const entries = Object.entries(fields);
  return (v) => {
    if (!isRecord(v)) return expected('object', v);
    for (const [key, check] of entries) {
      const issue = check(v[key]);
      if (issue !== undefined) return within(key, issue);
    }
    return undefined;
  };
}

/** A mapping of strings to strings (labels, annotations, selectors). */
export const stringMap: Check = (v) => {
  if (!isRecord(v)) return expected('object', v);
  for (const key of Object.keys(v)) {
    if (typeof v[key] !== 'string') return within(key, expected('string', v[key]));
  }
  return undefined;
};
