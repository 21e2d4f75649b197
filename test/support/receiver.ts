// A real HTTP receiver for callbacks on 127.0.0.1: records every request (headers and body), answers
// with a status the test chooses, after a delay it chooses (a slow receiver), and can go down (close,
// connections refused) and come back up on the same port.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCallback {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (ms since epoch). */
  at: number;
}

export class Receiver {
  readonly received: ReceivedCallback[] = [];
  /** Status for each request by path (default 204); a 3xx also gets a Location. */
  status: (path: string) => number = () => 204;
  /** How long each request waits for its answer, by path (default 0: at once). */
  delayMs: (path: string) => number = () => 0;
  /** Requests received and not answered yet, their connection still open (a sender waiting). */
  private readonly waiting = new Set<ReceivedCallback>();
  private server: Server | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const request = {
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        this.received.push(request);
        const answer = (): void => {
          if (res.destroyed) return;
          const status = this.status(path);
          res.writeHead(status, status >= 300 && status < 400 ? { location: `${this.url}/elsewhere` } : {});
          res.end();
        };
        const delay = this.delayMs(path);
        if (delay <= 0) return answer();
        this.waiting.add(request);
        res.once('close', () => this.waiting.delete(request));
        setTimeout(answer, delay).unref();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Requests to `path` waiting for their answer right now. */
  unanswered(path: string): ReceivedCallback[] {
    return [...this.waiting].filter((r) => r.path === path);
  }

  on(path: string): ReceivedCallback[] {
    return this.received.filter((r) => r.path === path);
  }
}

/** Polls `check` until it returns true (the condition, not a duration, is what a test asserts). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 90_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
