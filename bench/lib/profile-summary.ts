// Where the time goes: self time per function and per source file from the .cpuprofile files
// `node --cpu-prof` wrote into DIR (the largest profile, i.e. the main process, is summarised).
//   node --import tsx bench/lib/profile-summary.ts DIR   -> JSON on stdout
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: profile-summary.ts DIR');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(dir, f));
if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
const file = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

// Self time per node from the sample stream (each sample's delta is charged to its node).
const selfUs = new Map<number, number>();
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++) selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
const totalUs = profile.endTime - profile.startTime;

const shortUrl = (url: string): string => url.replace(/^file:\/\//, '').replace(/^.*\/(src|bench|node_modules|dist|test)\//, '$1/') || '(native)';
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const n of profile.nodes) {
  const us = selfUs.get(n.id) ?? 0;
  if (us === 0) continue;
  const where = shortUrl(n.callFrame.url);
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${where}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  byFile.set(where, (byFile.get(where) ?? 0) + us);
}
const top = (m: Map<string, number>, k: number): { name: string; selfMs: number; percent: number }[] =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Number(((100 * us) / totalUs).toFixed(1)) }));

console.log(JSON.stringify({ profile: file, totalMs: Math.round(totalUs / 1000), functions: top(byFunction, 15), files: top(byFile, 10) }, null, 2));
