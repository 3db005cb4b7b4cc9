// Live updates by polling the API: one call at a time (the next is scheduled after the last answer),
// stopped when the view goes away. A failed poll is shown, not thrown, and polling goes on.

export interface Poller {
  stop(): void;
  /** poll now (after a change the user made), then on schedule again */
  now(): void;
}

export function poll(
  task: (signal: AbortSignal) => Promise<void>,
  everyMs: number,
  onError: (err: unknown) => void,
): Poller {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (abort.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    try {
      await task(abort.signal);
    } catch (err) {
      if (!abort.signal.aborted) onError(err);
    } finally {
      running = false;
      if (!abort.signal.aborted) timer = setTimeout(() => void run(), again ? 0 : everyMs);
      again = false;
    }
  };
  void run();
  return {
    stop: () => {
      abort.abort();
      clearTimeout(timer);
    },
    now: () => void run(),
  };
}
