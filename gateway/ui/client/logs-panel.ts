// Live logs: the function's recent lines, then new ones as they come (follow), over the server-sent
// event stream of GET /functions/:name/logs?follow=true read with fetch (EventSource cannot send the
// bearer token). Filter by invocation id. Lines are text nodes, whatever they contain.
import { call, path } from './api.ts';
import { fmt, h } from './dom.ts';
import type { LogLine } from './types.ts';

const MAX_LINES = 1000;

export interface LogsPanel {
  el: HTMLElement;
  setFilter(invocationId: string): void;
  stop(): void;
}

export function logsPanel(name: string, onError: (err: unknown) => void): LogsPanel {
  const list = h('ol', {
    class: 'logs',
    id: 'log-lines',
    'aria-live': 'off',
    tabindex: 0,
    'aria-label': 'Log lines',
  });
  const follow = h('input', { id: 'log-follow', type: 'checkbox', checked: true });
  const filter = h('input', {
    id: 'log-filter',
    type: 'search',
    placeholder: 'all invocations',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const state = h('span', { class: 'muted', id: 'log-state' });
  let abort: AbortController | undefined;

  const matches = (li: HTMLElement) =>
    !filter.value.trim() || li.dataset.invocation === filter.value.trim();
  const applyFilter = () => {
    for (const li of list.children as HTMLCollectionOf<HTMLElement>) li.hidden = !matches(li);
  };
  filter.addEventListener('input', applyFilter);

  const add = (line: LogLine) => {
    const li = h(
      'li',
      { class: line.stream, 'data-invocation': line.invocationId ?? '' },
      h('time', {}, fmt.time(line.time)),
      ' ',
      h('span', { class: 'inv' }, line.invocationId?.slice(0, 8) ?? '—'),
      ' ',
      h('span', { class: 'text' }, line.text),
    );
    li.hidden = !matches(li);
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.appendChild(li);
    while (list.childElementCount > MAX_LINES) list.firstElementChild!.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  };

  const start = async () => {
    abort?.abort();
    const mine = new AbortController();
    abort = mine;
    list.replaceChildren();
    state.textContent = 'following';
    try {
      const res = await call(
        'GET',
        `${path('functions', name, 'logs')}?follow=true&tail=200`,
        undefined,
        mine.signal,
      );
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data) add(JSON.parse(data) as LogLine);
        }
      }
      state.textContent = 'stream ended';
    } catch (err) {
      if (mine.signal.aborted) return;
      state.textContent = 'not following';
      onError(err);
    }
  };
  const stop = () => {
    abort?.abort();
    abort = undefined;
    state.textContent = 'paused';
  };
  follow.addEventListener('change', () => (follow.checked ? void start() : stop()));
  void start();

  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'logs-title' },
    h('h3', { id: 'logs-title' }, 'Logs'),
    h(
      'div',
      { class: 'actions' },
      h('label', { class: 'inline' }, follow, ' Follow'),
      h('label', { for: 'log-filter' }, 'Invocation id'),
      filter,
      state,
    ),
    list,
  );
  return {
    el,
    setFilter(id) {
      filter.value = id;
      applyFilter();
    },
    stop,
  };
}
