// Audit export: download a signed export of one run or of a time range (docs/audit-export.md);
// `aos verify FILE --public-key …` checks it offline.
import { api, download } from '../api.ts';
import { emptyState, errorState, field, h, select } from '../dom.ts';
import type { Page } from '../page.ts';

/** A datetime-local value (the browser's local time) as an ISO instant, or undefined. */
function instant(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

export const exportPage: Page = {
  title: 'Export',
  render(container, { me, may, params }) {
    if (!may('export')) {
      container.append(
        emptyState(
          `A ${me.role} key may not export.`,
          'Sign in with an auditor or admin key to download signed exports.',
        ),
      );
      return undefined;
    }
    const run = h('input', {
      type: 'text',
      name: 'run',
      placeholder: 'run id (uuid)',
      value: params.get('run') ?? '',
      pattern: '[0-9a-fA-F-]{36}',
    });
    const from = h('input', { type: 'datetime-local', name: 'from' });
    const to = h('input', { type: 'datetime-local', name: 'to' });
    const format = select('format', [
      ['jsonl', 'JSON Lines'],
      ['cloudevents', 'CloudEvents JSON'],
    ]);
    const status = h('div', { role: 'status', 'aria-live': 'polite' });
    const form = h(
      'form',
      { class: 'stack', 'aria-label': 'Export' },
      h(
        'p',
        {},
        'Give a run id for one run, or a time range for every event of your tenant recorded in it (empty: everything).',
      ),
      field('Run id', run),
      h('div', { class: 'filters' }, field('From (local time)', from), field('To (local time)', to)),
      field('Format', format),
      h('button', { type: 'submit' }, 'Download signed export'),
      status,
      h(
        'p',
        { class: 'muted' },
        'Check a downloaded file offline with ',
        h('code', {}, 'aos verify FILE --public-key aos-public.pem'),
        '.',
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const runId = run.value.trim();
      const name = runId ? `run-${runId}.jsonl` : 'export.jsonl';
      try {
        status.textContent = 'Exporting…';
        // The select offers the two formats only.
        const kind = format.value as 'jsonl' | 'cloudevents';
        const query = runId
          ? { run: runId, format: kind }
          : { from: instant(from.value), to: instant(to.value), format: kind };
        const result = await download(api.raw('exportEvents', { query }), name);
        status.textContent = `Downloaded ${name} (${result.bytes} bytes, signed by key ${result.keyId ?? '?'}).`;
      } catch (error) {
        status.replaceChildren(errorState(error));
      }
    });
    container.append(form);
    return undefined;
  },
};
