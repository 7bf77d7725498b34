import { logger } from '../../lib/logger';

test('each concurrent request logs with its own request id', async () => {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => {
    lines.push(line);
  });
  const request = async (id: string, delayMs: number) => {
    logger.setContext({ requestId: id });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    logger.error('done', { by: id });
  };
  await Promise.all([request('a', 20), request('b', 5), request('c', 10)]);
  spy.mockRestore();
  const parsed = lines.map((l) => JSON.parse(l) as { requestId: string; by: string; level: string });
  expect(parsed).toHaveLength(3);
  for (const p of parsed) expect(p.requestId).toBe(p.by);
  expect(parsed.map((p) => p.by)).toEqual(['b', 'c', 'a']);
});
