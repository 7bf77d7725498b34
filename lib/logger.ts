/** The one logger: JSON lines on stdout/stderr, as CloudWatch and local terminals both read well. */
import { config, type LogLevel } from './config';

type Fields = Record<string, unknown>;
type Level = LogLevel;

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: number | undefined;

function enabled(level: Level): boolean {
  if (threshold === undefined) {
    try {
      threshold = ORDER[config().logLevel];
    } catch {
      // An invalid configuration is itself worth logging: fall back to the default level.
      threshold = ORDER.info;
    }
  }
  return ORDER[level] >= threshold;
}

let context: Fields = {};
let lambda: boolean | undefined;

function onLambda(): boolean {
  if (lambda === undefined) {
    try {
      lambda = config().onLambda;
    } catch {
      lambda = false;
    }
  }
  return lambda;
}

function write(level: Level, message: string, fields: Fields = {}) {
  if (!enabled(level)) return;
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...context, ...fields });
  // On Lambda with logFormat JSON the runtime would wrap a console line as a string in its own
  // record; written to the stream, our JSON line is the record.
  if (onLambda()) process.stdout.write(`${line}\n`);
  else if (ORDER[level] >= ORDER.warn) console.error(line);
  else buffered(line);
}

/**
 * Info and debug lines off Lambda (the access log of `npm start` above all) are written together
 * once per turn of the event loop: a write to a pipe or terminal is a synchronous system call, and
 * one per request cost a server worker about a tenth of its CPU. Warnings and errors are written
 * at once; what is pending is written on exit too.
 */
let pending: string[] = [];

function buffered(line: string): void {
  if (pending.length === 0) {
    setImmediate(flush);
    if (!flushOnExit) {
      flushOnExit = true;
      process.once('exit', flush);
    }
  }
  pending.push(`${line}\n`);
}

let flushOnExit = false;

function flush(): void {
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  process.stdout.write(text);
}

export const logger = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
  /**
   * Fields added to every line of the current invocation (the request id). Global, so only for a
   * process that runs one invocation at a time (a Lambda container): AsyncLocalStorage would make
   * it per request everywhere, but costs about a quarter of a failed grab's CPU on Node 20-22.
   */
  setContext(fields: Fields) {
    context = fields;
  },
};
