// Writes the chart files generated from the agent's option table and schema:
// charts/ipvs-proxy/values.schema.json (its `config` section) and templates/_options.tpl.
// Run after changing src/config: `npm run gen:chart-schema`.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateChartFiles } from '../src/config/chart-schema.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const current = readFileSync(join(root, 'charts', 'ipvs-proxy', 'values.schema.json'), 'utf8');
for (const file of generateChartFiles(current)) {
  const path = join(root, file.path);
  let before: string | undefined;
  try {
    before = readFileSync(path, 'utf8');
  } catch {
    before = undefined;
  }
  if (before === file.text) {
    process.stdout.write(`${file.path}: unchanged\n`);
    continue;
  }
  writeFileSync(path, file.text);
  process.stdout.write(`${file.path}: written\n`);
}
