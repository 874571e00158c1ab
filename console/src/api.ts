// Every call goes through the AOS HTTP API with the signed-in key, by the typed client
// (client/): the answers are typed by the routes' own schemas. The key lives in
// sessionStorage only: it is gone when the tab closes, and never written anywhere else.
import { AosClient, AosError, type ResponseOf } from '../../client/index.ts';
import type { Routes } from '../../contracts/index.ts';

export { AosError };
export type Whoami = ResponseOf<Routes['whoami']>;

const storageKey = 'aos.apiKey';

export const session = {
  key: (): string | null => sessionStorage.getItem(storageKey),
  save: (key: string) => sessionStorage.setItem(storageKey, key),
  clear: () => sessionStorage.removeItem(storageKey),
};

/** Called when the key stops working (revoked, or signed out elsewhere). */
let onUnauthenticated: () => void = () => {};
export function whenUnauthenticated(handler: () => void) {
  onUnauthenticated = handler;
}

/** The client of the signed-in key. */
export const api = new AosClient({ apiKey: session.key, onUnauthenticated: () => onUnauthenticated() });

/** A client of a key not signed in yet (the sign-in form checks it with whoami). */
export const clientFor = (key: string) => new AosClient({ apiKey: key });

/** Saves a response's body as a file (a plain link cannot send the key). */
export async function download(
  response: Promise<Response>,
  filename: string,
): Promise<{ bytes: number; keyId: string | null }> {
  const answer = await response;
  const blob = await answer.blob();
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { bytes: blob.size, keyId: answer.headers.get('x-aos-key-id') };
}

/** Form fields as a query: empty ones left out. */
export function formQuery<T extends Record<string, string | undefined>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value)) as Partial<T>;
}
