/**
 * Child processes of the bench (the SQS emulator, `npm run dev`, `npm start`), each in its own
 * process group so it can be stopped with everything it started, and CPU accounting read from
 * /proc so the load client, the servers, the emulator, Redis and MySQL each show their share.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../lib/ports';

export { sleep };

export const progress = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Status of one GET on loopback, or 0 when nothing answers. */
export { freePort };

export function httpStatus(url: string, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

const running = new Set<Child>();

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Whether the output so far matched the pattern (checked line by line, output is not kept). */
  seen(pattern: RegExp): boolean;
  tail(): string;
  stop(): Promise<void>;
}

/** Spawns a detached child whose output goes to `logFile`; only the last 16 KB stay in memory. */
export function spawnChild(
  name: string,
  args: string[],
  options: { cwd: string; env: Record<string, string | undefined>; logFile: string; watch?: RegExp[] },
): Child {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const log = createWriteStream(options.logFile, { flags: 'w' });
  let tail = '';
  const matched = new Set<RegExp>();
  const onData = (d: Buffer) => {
    log.write(d);
    tail = (tail + d.toString()).slice(-16_384);
    for (const w of options.watch ?? []) if (!matched.has(w) && w.test(tail)) matched.add(w);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle: Child = {
    name,
    process: child,
    pid: child.pid ?? 0,
    seen: (pattern) => matched.has(pattern) || pattern.test(tail),
    tail: () => tail,
    async stop() {
      running.delete(handle);
      const group = -(child.pid ?? 0);
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(group, 'SIGTERM');
        } catch {
          // already gone
        }
        await Promise.race([exited, sleep(10_000)]);
        if (child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(group, 'SIGKILL');
          } catch {
            // already gone
          }
          await Promise.race([exited, sleep(2_000)]);
        }
      }
      // Workers of the group may outlive their parent for a moment.
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // the group is empty
      }
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
  running.add(handle);
  return handle;
}

/** Stops every child still running (on exit, on a signal, after a crash). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
}

/** Synchronous last resort for `process.on('exit')`: signals every remaining group. */
export function killAllSync(): void {
  for (const c of running) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

// ---------------------------------------------------------------- CPU accounting from /proc

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
    const n = Number(r.stdout?.trim());
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: fields start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The pid and every descendant of it, from /proc (one pass over the process table). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [root];
  }
  for (const e of entries.slice(0, 100_000)) {
    const fields = statFields(Number(e));
    const ppid = Number(fields?.[1]);
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(e));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < 10_000) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by these processes; vanished ones count 0. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    // After the name: state(0) ppid(1) ... utime(11) stime(12).
    if (f) ticks += Number(f[11] ?? 0) + Number(f[12] ?? 0);
  }
  return ticks / ticksPerSecond();
}

/** Busy and total CPU seconds of the whole machine, all cores. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** The MySQL server's pid, from its pid file (readable when MySQL runs on this machine). */
export function pidFromFile(path: string | undefined): number | undefined {
  if (!path || !existsSync(path)) return undefined;
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 && existsSync(join('/proc', String(pid))) ? pid : undefined;
  } catch {
    return undefined;
  }
}
