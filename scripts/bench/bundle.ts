/**
 * The grab function as deployed: `sls package` (dummy credentials, no AWS access) builds
 * grabCoupon.zip; its functions/grab-coupon.js is measured (size) and loaded in a fresh `node`
 * five times (module initialisation, median). The Lambda runtime provides the AWS SDK v3, which
 * serverless-esbuild leaves out of the bundle: NODE_PATH points at this project's copy instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { progress } from './procs';

export interface BundleResult {
  zipBytes: number;
  jsBytes: number;
  mapBytes: number;
  /** Modules the bundle still requires from outside (not Node built-ins). */
  externals: string[];
  /** KB of the minified file by package, from its source map (largest first). */
  composition: Record<string, number>;
  initMs: { median: number; samples: number[] };
  initMsWithSourceMaps: { median: number; samples: number[] };
  packageSeconds: number;
}

/** Files of a zip archive (stored or deflated), from its central directory. */
export function unzip(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive');
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let e = 0; e < entries; e++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('zip: bad central directory');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + compressed);
    if (method === 0) files.set(name, Buffer.from(data));
    else if (method === 8) files.set(name, inflateRawSync(data));
    else throw new Error(`zip: unsupported compression ${method} for ${name}`);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

function run(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${args.slice(0, 2).join(' ')} exited with ${code}:\n${out.slice(-4000)}`));
    });
  });
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 VLQ fields of one source-map segment. */
function vlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = BASE64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** How many bytes of the generated file each package (or project folder) accounts for. */
export function composition(js: string, map: { sources: string[]; mappings: string }): Record<string, number> {
  const lines = js.split('\n');
  const bytes = new Map<string, number>();
  let source = 0;
  map.mappings.split(';').forEach((line, i) => {
    const segments: { col: number; source: number | undefined }[] = [];
    let col = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const f = vlq(seg);
      col += f[0] ?? 0;
      if (f.length > 1) source += f[1] ?? 0;
      segments.push({ col, source: f.length > 1 ? source : undefined });
    }
    const length = lines[i]?.length ?? 0;
    segments.forEach((s, k) => {
      if (s.source === undefined) return;
      const path = map.sources[s.source] ?? '?';
      const pkg =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.replace(/^(\.\.\/)+/, '').split('/')[0] ?? '?';
      bytes.set(pkg, (bytes.get(pkg) ?? 0) + (segments[k + 1]?.col ?? length) - s.col);
    });
  });
  return Object.fromEntries(
    [...bytes]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, v]) => [k, Math.round(v / 102.4) / 10]),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function initTimes(file: string, root: string, sourceMaps: boolean): number[] {
  const samples: number[] = [];
  const code =
    'const t = process.hrtime.bigint(); require(process.argv[1]); ' +
    'process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));';
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, [...(sourceMaps ? ['--enable-source-maps'] : []), '-e', code, file], {
      cwd: dirname(file),
      env: {
        PATH: process.env.PATH,
        NODE_PATH: join(root, 'node_modules'),
        STAGE: 'bench',
        QUEUE_URL: 'http://127.0.0.1:1/000000000000/none',
        JWT_SECRET: 'x'.repeat(40),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const ms = Number(r.stdout);
    if (r.status !== 0 || !Number.isFinite(ms)) throw new Error(`loading the bundle failed: ${r.stderr}`);
    samples.push(Math.round(ms * 10) / 10);
  }
  return samples;
}

export async function measureBundle(root: string): Promise<BundleResult> {
  const out = mkdtempSync(join(tmpdir(), 'seckill-bench-package-'));
  const workFolder = '.esbuild-bench-package';
  try {
    const t0 = performance.now();
    await run(
      [join(root, 'node_modules/osls/bin/serverless.js'), 'package', '--package', out],
      {
        cwd: root,
        // A clean environment, as on a deploy machine.
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: 'dummy',
          AWS_SECRET_ACCESS_KEY: 'dummy',
          ESBUILD_WORK_FOLDER: workFolder,
          SLS_TELEMETRY_DISABLED: '1',
        },
      },
      300_000,
    );
    const packageSeconds = (performance.now() - t0) / 1000;
    const zipPath = join(out, 'grabCoupon.zip');
    const files = unzip(readFileSync(zipPath));
    const js = files.get('functions/grab-coupon.js');
    if (!js) throw new Error(`grabCoupon.zip has no functions/grab-coupon.js: ${[...files.keys()].join(', ')}`);
    const dir = join(out, 'unzipped');
    for (const [name, data] of files) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, data);
    }
    const text = js.toString('utf8');
    const builtins = new Set(builtinModules);
    const externals = [...new Set([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1] as string))]
      .filter((m) => !m.startsWith('node:') && !builtins.has(m))
      .sort();
    const file = join(dir, 'functions/grab-coupon.js');
    const plain = initTimes(file, root, false);
    const mapped = initTimes(file, root, true);
    progress(`bundle: grab-coupon.js ${Math.round(js.length / 1024)} KB, init ${median(mapped)} ms`);
    const map = files.get('functions/grab-coupon.js.map');
    return {
      zipBytes: statSync(zipPath).size,
      jsBytes: js.length,
      mapBytes: map?.length ?? 0,
      externals,
      composition: map ? composition(text, JSON.parse(map.toString('utf8'))) : {},
      initMs: { median: median(plain), samples: plain },
      initMsWithSourceMaps: { median: median(mapped), samples: mapped },
      packageSeconds: Math.round(packageSeconds * 10) / 10,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(join(root, workFolder), { recursive: true, force: true });
  }
}
