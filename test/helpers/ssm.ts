/**
 * A stand-in for the SSM Parameter Store API on loopback, enough for GetParameters (the call
 * Powertools Parameters makes for a batch with decryption), so the real SDK and Powertools code
 * runs in tests. It records each request and can be told to fail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SsmStandIn {
  endpoint: string;
  requests: { target: string; body: { Names?: string[]; WithDecryption?: boolean } }[];
  /** Answer every request with this HTTP status and an AWS error (e.g. 500) until cleared. */
  failWith: number | undefined;
  close(): Promise<void>;
}

export async function startSsm(parameters: Record<string, string>): Promise<SsmStandIn> {
  const state: SsmStandIn = {
    endpoint: '',
    requests: [],
    failWith: undefined,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => {
      raw += d.toString();
    });
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = raw ? JSON.parse(raw) : {};
      state.requests.push({ target, body });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (state.failWith) {
        res.statusCode = state.failWith;
        res.end(JSON.stringify({ __type: 'InternalServerError', message: 'stand-in told to fail' }));
        return;
      }
      if (target !== 'AmazonSSM.GetParameters') {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'UnknownOperationException', message: target }));
        return;
      }
      const names: string[] = body.Names ?? [];
      res.end(
        JSON.stringify({
          Parameters: names
            .filter((n) => n in parameters)
            .map((n) => ({
              Name: n,
              Type: 'SecureString',
              // Without decryption SSM answers the ciphertext.
              Value: body.WithDecryption ? parameters[n] : Buffer.from(`ciphertext of ${n}`).toString('base64'),
              Version: 1,
            })),
          InvalidParameters: names.filter((n) => !(n in parameters)),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
