// Events: each topic and the functions it triggers, consumer lag per topic and per function queue,
// and the dead-letter queue with each entry's error and a replay button.
import { ApiError, getJson, path, sendJson } from './api.ts';
import { announce, h, replace, routeLink } from './dom.ts';
import { poll } from './poll.ts';
import type { DlqEntry, EventsStats } from './types.ts';
import type { View } from './view.ts';

const table = (caption: string, columns: string[], body: HTMLTableSectionElement, cls: string) =>
  h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: cls },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c)))),
      body,
    ),
  );

function errorText(raw: string | undefined): string {
  if (!raw) return '—';
  try {
    const e = JSON.parse(raw) as { code?: string; message?: string };
    return e.code ? `${e.code}: ${e.message ?? ''}` : raw;
  } catch {
    return raw;
  }
}

export const eventsView: View = (main, onError) => {
  const state = h('p', { id: 'events-state', class: 'muted' });
  const topics = h('tbody');
  const queues = h('tbody');
  const dlq = h('tbody');
  const dlqEmpty = h(
    'p',
    { class: 'muted', id: 'dlq-empty', hidden: true },
    'The dead-letter queue is empty.',
  );
  const result = h('p', { id: 'dlq-result', role: 'status' });
  replace(
    main,
    h('h2', {}, 'Events'),
    state,
    table('Topics and the functions they trigger', ['Topic', 'Functions', 'Lag'], topics, 'topics'),
    table(
      'Function queues (consumer lag)',
      ['Function', 'Not read yet', 'Pending'],
      queues,
      'queues',
    ),
    h('h3', {}, 'Dead-letter queue'),
    result,
    table(
      'Dead-lettered entries, newest first',
      ['Entry', 'Function', 'Topic / type', 'Attempts', 'Error', ''],
      dlq,
      'dlq',
    ),
    dlqEmpty,
  );

  const replay = async (id: string) => {
    try {
      const out = await sendJson<{ function: string }>('POST', `${path('dlq', id, 'replay')}`);
      result.className = '';
      result.textContent = `Entry ${id} is back on ${out.function}'s queue.`;
      announce(result.textContent);
      poller.now();
    } catch (err) {
      result.className = 'error';
      result.textContent =
        err instanceof ApiError ? `${err.code}: ${err.message}` : (err as Error).message;
    }
  };

  const poller = poll(
    async (signal) => {
      const ev = await getJson<EventsStats>('/stats/events', signal);
      state.textContent = `Triggers: ${ev.state}`;
      replace(
        topics,
        ...ev.topics.map((t) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, t.topic),
            h(
              'td',
              {},
              ...t.functions.flatMap((f, i) => [
                i ? ', ' : '',
                routeLink(f.function, 'fn', f.function),
                f.event_type ? ` (${f.event_type})` : '',
              ]),
            ),
            h('td', { class: 'num' }, t.lag ?? '—'),
          ),
        ),
      );
      replace(
        queues,
        ...ev.queues.map((q) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, q.function),
            h('td', { class: 'num' }, q.lag),
            h('td', { class: 'num' }, q.pending),
          ),
        ),
      );
      let entries: DlqEntry[] = [];
      try {
        entries = (await getJson<{ entries: DlqEntry[] }>('/dlq', signal)).entries;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'events_unavailable')) throw err;
      }
      // Rebuilt only when the entries change, so a focused Replay button stays focused.
      const ids = entries.map((e) => e.id).join(',');
      if (dlq.dataset.ids !== ids) {
        dlq.dataset.ids = ids;
        replace(
          dlq,
          ...entries.map((e) =>
            h(
              'tr',
              { 'data-entry': e.id },
              h('th', { scope: 'row' }, h('code', {}, e.id)),
              h('td', {}, e.function || '—'),
              h('td', {}, `${e.topic ?? '—'} / ${e.type ?? '—'}`),
              h('td', { class: 'num' }, e.attempts ?? '—'),
              h('td', { class: 'dlq-error' }, errorText(e.error)),
              h(
                'td',
                {},
                e.function
                  ? h(
                      'button',
                      {
                        type: 'button',
                        'aria-label': `Replay entry ${e.id}`,
                        onclick: () => void replay(e.id),
                      },
                      'Replay',
                    )
                  : h('span', { class: 'muted' }, 'not replayable'),
              ),
            ),
          ),
        );
      }
      dlqEmpty.hidden = entries.length > 0;
    },
    2000,
    onError,
  );
  return poller;
};
