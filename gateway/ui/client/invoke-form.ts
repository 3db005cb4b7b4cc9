// Invoke a function from the page: a JSON editor checked as you type, then the answer as text, its
// status, x-invocation-id, cold or warm start and the call's duration seen from the browser.
import { failure, headers, path } from './api.ts';
import { h } from './dom.ts';

export function invokeForm(name: string, onInvoked: (invocationId: string) => void): HTMLElement {
  const id = (s: string) => `invoke-${s}`;
  const editor = h('textarea', {
    id: id('event'),
    name: 'event',
    rows: 6,
    spellcheck: 'false',
    'aria-describedby': id('check'),
  });
  editor.value = '{}';
  const check = h('p', { id: id('check'), class: 'hint', 'aria-live': 'polite' }, 'Valid JSON.');
  const button = h('button', { type: 'submit' }, 'Invoke');
  const status = h('dd', { id: id('status') }, '—');
  const invocation = h('dd', { id: id('id') }, '—');
  const start = h('dd', { id: id('start') }, '—');
  const duration = h('dd', { id: id('duration') }, '—');
  const answer = h('pre', {
    id: id('answer'),
    class: 'answer',
    tabindex: 0,
    'aria-label': 'Answer',
  });

  const validate = (): boolean => {
    try {
      JSON.parse(editor.value);
      editor.removeAttribute('aria-invalid');
      check.textContent = 'Valid JSON.';
      check.className = 'hint';
      button.disabled = false;
      return true;
    } catch (err) {
      editor.setAttribute('aria-invalid', 'true');
      check.textContent = `Not JSON: ${(err as Error).message}`;
      check.className = 'hint error';
      button.disabled = true;
      return false;
    }
  };
  editor.addEventListener('input', validate);

  const form = h(
    'form',
    {
      class: 'card',
      'aria-labelledby': id('title'),
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (!validate()) return;
        button.disabled = true;
        answer.textContent = '…';
        const t0 = performance.now();
        try {
          const res = await fetch(path('functions', name, 'invoke'), {
            method: 'POST',
            headers: headers({ 'content-type': 'application/json' }),
            body: editor.value,
            cache: 'no-store',
            credentials: 'omit',
          });
          const ms = performance.now() - t0;
          const text = await res.text();
          status.textContent = `${res.status} ${res.statusText}`;
          const ivId = res.headers.get('x-invocation-id') ?? '—';
          invocation.textContent = ivId;
          start.textContent =
            res.headers.get('x-cold-start') === 'true'
              ? 'cold'
              : res.headers.get('x-cold-start') === 'false'
                ? 'warm'
                : '—';
          duration.textContent = `${ms.toFixed(1)} ms`;
          answer.textContent = pretty(text);
          form.dataset.state = res.ok ? 'ok' : 'error';
          if (res.status === 401) await failure(new Response(text, { status: 401 })); // asks for the token again
          if (ivId !== '—') onInvoked(ivId);
        } catch (err) {
          status.textContent = 'no answer';
          answer.textContent = (err as Error).message;
          form.dataset.state = 'error';
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h3', { id: id('title') }, 'Invoke'),
    h('label', { for: id('event') }, 'Event (JSON)'),
    editor,
    check,
    button,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      status,
      h('dt', {}, 'Invocation id'),
      invocation,
      h('dt', {}, 'Start'),
      start,
      h('dt', {}, 'Duration (browser)'),
      duration,
    ),
    answer,
  );
  return form;
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
