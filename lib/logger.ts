/** The one logger: JSON lines on stdout/stderr, as CloudWatch and local terminals both read well. */
import { AsyncLocalStorage } from 'node:async_hooks';
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

// Per request, also when one process serves many requests at once (`npm start`).
const context = new AsyncLocalStorage<Fields>();

function write(level: Level, message: string, fields: Fields = {}) {
  if (!enabled(level)) return;
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...context.getStore(), ...fields });
  if (ORDER[level] >= ORDER.warn) console.error(line);
  else console.log(line);
}

export const logger = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
  /** Fields added to every line logged from here on in the current invocation (the request id). */
  setContext(fields: Fields) {
    context.enterWith(fields);
  },
};
