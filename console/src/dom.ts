// A tiny element builder. Text always goes in as text nodes (never innerHTML), so nothing the
// API returns can inject markup.
type Child = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | null | undefined | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined)
      element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** An empty state: what is missing and what to do about it. */
export function emptyState(title: string, hint?: string): HTMLElement {
  return h(
    'div',
    { class: 'empty', role: 'status' },
    h('p', { class: 'empty-title' }, title),
    hint && h('p', {}, hint),
  );
}

/** An error state, announced to screen readers. */
export function errorState(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'Something went wrong: '), message);
}

export function loading(what: string): HTMLElement {
  return h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);
}

/** A labelled form field. */
export function field(label: string, control: HTMLElement): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

export function select(
  name: string,
  options: [value: string, label: string][],
  value = '',
): HTMLSelectElement {
  const element = h('select', { name }, ...options.map(([v, l]) => h('option', { value: v }, l)));
  // No value given: the first option, as the browser would choose.
  if (value) element.value = value;
  return element;
}

const badgeTones: Record<string, string> = {
  succeeded: 'ok',
  pass: 'ok',
  'in service': 'ok',
  fail: 'bad',
  disabled: 'bad',
  allow: 'ok',
  approve: 'ok',
  running: 'info',
  queued: 'muted',
  paused: 'warn',
  half_open: 'warn',
  open: 'bad',
  retrying: 'warn',
  escalated: 'warn',
  waiting_approval: 'warn',
  require_approval: 'warn',
  failed: 'bad',
  deny: 'bad',
  cancelled: 'muted',
  budget_exceeded: 'bad',
  policy_denied: 'bad',
  timed_out: 'bad',
  skipped: 'muted',
  compensating: 'info',
  compensated: 'comp',
  compensation: 'comp',
  compensation_failed: 'bad',
};

/** A status badge: the word is always shown, the colour only repeats it. */
export function badge(status: string): HTMLElement {
  return h('span', { class: `badge badge-${badgeTones[status] ?? 'muted'}` }, status.replaceAll('_', ' '));
}
