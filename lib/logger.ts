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
  else console.log(line);
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
