// What a page gets and gives: the signed-in key's identity and the route's parameters in,
// a mounted element and (for live refresh, charts) a clean-up out.
import type { Whoami } from './api.ts';

type Permission = Whoami['permissions'][number];

export interface PageContext {
  me: Whoami;
  /** The path segment after the page's name (a run id). */
  id: string | undefined;
  params: URLSearchParams;
  /** Replaces the page's query parameters (filters stay in the URL, so they can be shared). */
  setParams(params: Record<string, string | undefined>): void;
  may(permission: Permission): boolean;
}

export interface Page {
  title: string;
  render(container: HTMLElement, context: PageContext): (() => void) | undefined;
}
