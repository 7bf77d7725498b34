#!/usr/bin/env node
// Runs a TypeScript script of this project: bundles it with esbuild (the same loaders the Lambda
// bundles use, so `.lua` imports work), then executes it with the remaining arguments.
// Settings come from the environment and, for what it leaves unset, from the project's `.env`
// (see `.env.example`). Test runs (STAGE=test) ignore `.env`, so they never pick up local settings.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const envFile = join(dirname(fileURLToPath(import.meta.url)), '..', '.env');
if (process.env.STAGE !== 'test' && existsSync(envFile)) process.loadEnvFile(envFile);

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run.mjs <script.ts> [args...]');
  process.exit(2);
}
const outdir = join(process.cwd(), '.build');
mkdirSync(outdir, { recursive: true });
// One file per process: several runs (test workers) may build the same script at once.
const outfile = join(outdir, `${basename(entry, '.ts')}-${process.pid}.cjs`);
buildSync({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  external: ['fauxqs', 'esbuild', 'osls', 'serverless-offline', '@node-rs/argon2'],
  loader: { '.lua': 'text', '.html': 'text', '.css': 'text', '.page-script.js': 'text', '.iife.min.js': 'text' },
  logLevel: 'warning',
});
// Signals reach the child directly (same process group); this process only waits for it.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
// Extra Node flags for the script (and its cluster workers), e.g. SECKILL_NODE_FLAGS=--cpu-prof.
const flags = (process.env.SECKILL_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const result = spawnSync(process.execPath, ['--enable-source-maps', ...flags, outfile, ...args], { stdio: 'inherit' });
rmSync(outfile, { force: true });
process.exit(result.status ?? 1);
