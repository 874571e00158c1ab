// The emergency stop's banner, on every page while a stop holds the signed-in tenant
// (GET /v1/emergency-stop): who stopped it, when and why, and that its runs are paused. Looked
// at again every few seconds, so it appears and goes without a reload.
import { api } from './api.ts';
import { h } from './dom.ts';
import { time } from './format.ts';

const REFRESH_MS = 3_000;

/** The banner's place in the page, and the function that stops refreshing it. */
export function emergencyBanner(): { element: HTMLElement; stop: () => void } {
  const element = h('div', { 'data-testid': 'emergency-banner', 'aria-live': 'polite' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const refresh = async () => {
    try {
      const { stop } = await api.emergencyStopHolding();
      element.replaceChildren(
        stop
          ? h(
              'div',
              { class: 'banner', role: 'alert' },
              h('strong', {}, 'Emergency stop in force'),
              ` for ${stop.tenantId === null ? 'every tenant' : `tenant ${stop.tenantId}`} since ${time(stop.at)} (by ${stop.actor.role} ${stop.actor.id}${stop.reason ? `: “${stop.reason}”` : ''}). `,
              'No attempt starts; runs wait paused and go on once it is lifted.',
            )
          : '',
      );
    } catch {
      // The banner is advisory: a failed look leaves it as it was.
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  void refresh();
  return {
    element,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
