// Every call goes through the AOS HTTP API with the signed-in key. The key lives in
// sessionStorage only: it is gone when the tab closes, and never written anywhere else.
const storageKey = 'aos.apiKey';

export interface Whoami {
  keyId: string;
  tenantId: string;
  role: string;
  permissions: string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

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

async function call(path: string, init: RequestInit = {}, key = session.key()): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  if (init.body) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the AOS server does not answer; is it running?');
  }
  if (response.ok) return response;
  let code = 'HTTP_ERROR';
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {}
  if (response.status === 401 && key === session.key()) onUnauthenticated();
  throw new ApiError(response.status, code, message);
}

export async function getJson<T>(path: string, key?: string): Promise<T> {
  return (await call(path, {}, key)).json() as Promise<T>;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return (await call(path, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<T>;
}

/** Fetches with the key (a plain link cannot send it) and saves the body as a file. */
export async function download(
  path: string,
  filename: string,
): Promise<{ bytes: number; keyId: string | null }> {
  const response = await call(path);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { bytes: blob.size, keyId: response.headers.get('x-aos-key-id') };
}

export function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}
