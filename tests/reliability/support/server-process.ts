// AOS as users run it: `node bin/aos.js serve` in its own process, killed and restarted.
import { type ChildProcess, spawn } from 'node:child_process';

export interface ServerProcess {
  url: string;
  start(): Promise<void>;
  /** SIGKILL: no shutdown hook runs, like a crash or an OOM kill. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export function serverProcess(env: Record<string, string>, port: number): ServerProcess {
  let child: ChildProcess | undefined;
  let output = '';
  const url = `http://127.0.0.1:${port}`;
  const exited = (c: ChildProcess) =>
    new Promise<void>((resolve) =>
      c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()),
    );
  return {
    url,
    async start() {
      child = spawn(process.execPath, ['bin/aos.js', 'serve'], {
        env: { ...process.env, AOS_LOG_LEVEL: 'warn', AOS_PORT: String(port), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const ready = await fetch(`${url}/readyz`).catch(() => undefined);
        if (ready?.status === 200) return;
        if (child.exitCode !== null)
          throw new Error(`server exited ${child.exitCode}: ${output.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`server not ready: ${output.slice(-2000)}`);
    },
    async kill() {
      if (!child) return;
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      if (!child) return;
      child.kill('SIGTERM');
      // A graceful stop that does not end in time is a finding, not a reason to hang the suite.
      const forced = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await exited(child);
      clearTimeout(forced);
    },
    output: () => output,
  };
}
