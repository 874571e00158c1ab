// The JSON a CLI command sends as it is (the server validates it): read from FILE, or from
// stdin when FILE is absent or `-`.
import { readFile } from 'node:fs/promises';
import { ServerError } from './server-client.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJsonInput(file: string | undefined): Promise<unknown> {
  const source = file && file !== '-' ? file : 'stdin';
  const text = source === 'stdin' ? await readStdin() : await readFile(source, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ServerError(`${source} is not JSON: ${(error as Error).message}`);
  }
}
