/**
 * What `npm start` writes: one logger for the whole process tree (JSON lines, nothing else), and an
 * access log line per request.
 */
import { type RunningServer, startServer } from '../helpers/offline';
import { type Stack, startStack } from '../helpers/stack';

let server: RunningServer;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  server = await startServer('scripts/start.ts', { QUEUE_URL: stack.queueUrl, ACCESS_LOG: 'true' });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await stack?.close();
});

test('every line is a JSON log line, and each request has its access line', async () => {
  expect((await fetch(`${server.baseUrl}/api/health`)).status).toBe(200);
  expect((await fetch(`${server.baseUrl}/api/nowhere`)).status).toBe(404);
  let lines: Record<string, unknown>[] = [];
  const deadline = Date.now() + 5000;
  do {
    // Node's own process warnings (the AWS SDK's notice about Node 20) are not the project's lines.
    lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    if (lines.some((l) => l.target === '/api/nowhere')) break;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  expect(lines.every((l) => typeof l.level === 'string' && typeof l.message === 'string')).toBe(true);
  // The runner's own lines (where it listens, the consumer) are log lines too, not text beside them.
  expect(server.output()).not.toContain('[seckill]');
  expect(lines.some((l) => String(l.message).startsWith('API listening on'))).toBe(true);
  const access = lines.filter((l) => l.message === 'request');
  expect(access).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ method: 'GET', target: '/api/health', status: 200, client: expect.any(String) }),
      expect.objectContaining({ method: 'GET', target: '/api/nowhere', status: 404 }),
    ]),
  );
  for (const l of access) expect(typeof l.ms).toBe('number');
});
