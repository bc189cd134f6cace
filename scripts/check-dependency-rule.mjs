#!/usr/bin/env node
// DESIGN.md's dependency rule, enforced on every `npm run check`:
// - core/ knows nothing of MQTT, HTTP or the environment (no aedes, hono, node:http/net, process.env);
// - broker/ and http/ never import each other;
// - mosquitto-compat/ imports core only (not broker/ or http/).
// Written by hand (~40 lines) because the rules are about our own folders and a
// regex over import lines answers them exactly; a general tool would need more config than this.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const rules = [
  { dir: 'core', forbid: [/^(aedes|hono|@hono\/.*|node:net|node:http|node:https|net|http|https|ws|mqtt)$/, /\/(broker|http|mosquitto-compat|cli)\//], env: true, except: /^core\/store\// },
  { dir: 'core/store', forbid: [/^(aedes|hono|@hono\/.*)$/, /\/(broker|http|mosquitto-compat|cli)\//], env: true },
  { dir: 'broker', forbid: [/(^|\/)http\//, /^hono$|^@hono\//] },
  { dir: 'http', forbid: [/(^|\/)broker\//, /^aedes/] },
  { dir: 'mosquitto-compat', forbid: [/(^|\/)(broker|http|cli)\//, /^hono$|^@hono\//, /^aedes/] },
];

const files = (dir) =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const p = join(dir, name);
    return statSync(join(root, p)).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });

const problems = [];
for (const rule of rules) {
  for (const file of files(rule.dir)) {
    if (rule.except?.test(file)) continue;
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (rule.forbid.some((re) => re.test(spec))) problems.push(`${relative(root, join(root, file))}: imports ${spec}`);
    }
    if (rule.env && /process\.env/.test(text)) problems.push(`${file}: reads process.env (only cli/config.ts may)`);
  }
}
if (problems.length > 0) {
  console.error(`dependency rule broken (see DESIGN.md):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('dependency rule: ok');
