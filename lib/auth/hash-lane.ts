/**
 * Bounded concurrency for deliberately slow work (password hashing). A process runs at most
 * `concurrency` tasks at once; a few more wait in a FIFO queue; anything beyond is refused at once
 * with `ServerBusy`, so a storm of logins gets fast, honest 503s instead of piling up on libuv's
 * thread pool, where they would also starve DNS lookups and WebCrypto (token checks).
 *
 * A waiter is also refused as soon as its expected wait (queue position x the recent task duration)
 * exceeds `maxWaitMs`, and in any case when `maxWaitMs` passes without a lane: the answer to an
 * overloaded process is always a 503 within that bound, never a timeout.
 *
 * Hand-written (about 60 lines) because the kept limiters (p-limit, p-queue) queue without bound and
 * never refuse; refusing early is the point here.
 */
import { ServerBusy } from '../errors';

/**
 * What a task is assumed to take until one has been timed (argon2id at the default setting takes
 * 6-10 ms of one core): a fresh process admits a burst as a warm one would, and a waiter whose
 * guess was wrong still gets its 503 when `maxWaitMs` passes.
 */
const FIRST_GUESS_MS = 10;

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

export interface LaneOptions {
  concurrency: number;
  queue: number;
  maxWaitMs: number;
}

export class HashLane {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** Moving average of a task's duration, ms (0 until the first task ends: then FIRST_GUESS_MS). */
  private averageMs = 0;

  constructor(private readonly options: LaneOptions) {}

  /** Runs `task` in a lane, or throws `ServerBusy` when none frees up in time. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    const started = performance.now();
    try {
      return await task();
    } finally {
      const ms = performance.now() - started;
      this.averageMs = this.averageMs === 0 ? ms : this.averageMs * 0.8 + ms * 0.2;
      this.release();
    }
  }

  /** Runs `task` only if a lane is free right now (optional work such as a rehash); undefined when not. */
  async runIfIdle<T>(task: () => Promise<T>): Promise<T | undefined> {
    if (this.running >= this.options.concurrency || this.waiting.length > 0) return undefined;
    return this.run(task);
  }

  get stats(): { running: number; waiting: number; averageMs: number } {
    return { running: this.running, waiting: this.waiting.length, averageMs: this.averageMs };
  }

  /** Whether a task submitted now would be admitted (run or queued): lets a caller refuse before other work. */
  wouldAdmit(): boolean {
    const { concurrency, queue, maxWaitMs } = this.options;
    if (this.running < concurrency && this.waiting.length === 0) return true;
    const rounds = Math.floor(this.waiting.length / concurrency) + 1;
    const expectedMs = rounds * (this.averageMs || FIRST_GUESS_MS);
    return this.waiting.length < queue && expectedMs <= maxWaitMs;
  }

  private acquire(): Promise<void> {
    const { concurrency, maxWaitMs } = this.options;
    if (this.running < concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (!this.wouldAdmit()) return Promise.reject(new ServerBusy());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          reject(new ServerBusy());
        }, maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The lane passes straight to the next waiter: `running` stays the same.
    if (next) next.start();
    else this.running--;
  }
}
