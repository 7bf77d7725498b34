/** Health of every dependency, each checked in parallel with a time limit. */
import type { Services } from './services';

export type DependencyState = 'ok' | 'unavailable';

const TIMEOUT_MS = 2000;

async function check(probe: () => Promise<void>): Promise<DependencyState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

export async function health(s: Services): Promise<Record<'redis' | 'mysql' | 'queue', DependencyState>> {
  const [redis, mysql, queue] = await Promise.all([
    check(() => s.cache.ping()),
    check(() => s.db.ping()),
    check(() => s.queue.ping()),
  ]);
  return { redis, mysql, queue };
}
