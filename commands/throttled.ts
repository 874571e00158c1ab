// A look that may be asked for often (every wake-up of an executor) but is made at most once
// per `intervalMs`: one asked too soon is made when the interval ends, never dropped — if it
// is still wanted then (`wanted`).

export function throttled(intervalMs: number, look: () => void, wanted: () => boolean = () => true) {
  let last = 0;
  let trailing: NodeJS.Timeout | undefined;
  const ask = () => {
    if (!wanted()) return;
    const wait = last + intervalMs - Date.now();
    if (wait > 0) {
      trailing ??= setTimeout(() => {
        trailing = undefined;
        ask();
      }, wait);
      return;
    }
    last = Date.now();
    look();
  };
  return {
    ask,
    cancel() {
      clearTimeout(trailing);
      trailing = undefined;
    },
  };
}
