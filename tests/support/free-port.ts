// A port a test's server can take, and take again after a restart. It comes from below the
// kernel's ephemeral range (32768+), so an outgoing connection cannot borrow it between a
// server's stop and its start again, as can happen with a port from listen(0).
import { createServer } from 'node:net';

const LOWEST = 20_000;
const HIGHEST = 32_767;

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${HIGHEST}`);
}
