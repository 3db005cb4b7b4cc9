// Pool tuning from the page: min, max, concurrency and idle seconds applied live through
// PUT /functions/:name/pool, and back to the manifest's settings with DELETE.
import { ApiError, path, sendJson } from './api.ts';
import { announce, h } from './dom.ts';
import type { FunctionInfo, Pool } from './types.ts';

const FIELDS = [
  ['min', 'Min containers', 0],
  ['max', 'Max containers', 1],
  ['concurrency', 'Concurrency per container', 1],
  ['idle_sec', 'Idle seconds', 1],
] as const;

export interface PoolForm {
  el: HTMLElement;
  /** refresh the inputs from the function, unless the user is editing them */
  update(f: FunctionInfo): void;
}

export function poolForm(name: string, onChanged: () => void): PoolForm {
  const inputs = Object.fromEntries(
    FIELDS.map(([key, , min]) => [
      key,
      h('input', {
        id: `pool-${key}`,
        name: key,
        type: 'number',
        min,
        step: 1,
        required: true,
        inputmode: 'numeric',
      }),
    ]),
  ) as Record<(typeof FIELDS)[number][0], HTMLInputElement>;
  const result = h('p', { id: 'pool-result', role: 'status' });
  const overridden = h('p', { class: 'muted', id: 'pool-source' });
  let dirty = false;
  const form = h('form', { class: 'card', 'aria-labelledby': 'pool-title' });
  form.addEventListener('input', () => (dirty = true));

  const apply = async (method: 'PUT' | 'DELETE') => {
    result.textContent = '';
    result.className = '';
    try {
      const body =
        method === 'PUT'
          ? Object.fromEntries(FIELDS.map(([key]) => [key, Number(inputs[key].value)]))
          : undefined;
      const info = await sendJson<FunctionInfo>(method, path('functions', name, 'pool'), body);
      dirty = false;
      fill(info.pool);
      result.textContent =
        method === 'PUT' ? 'Pool updated.' : "Back to the manifest's pool settings.";
      announce(result.textContent);
      onChanged();
    } catch (err) {
      result.className = 'error';
      result.textContent =
        err instanceof ApiError ? `${err.code}: ${err.message}` : (err as Error).message;
    }
  };
  const fill = (p: Pool) => {
    for (const [key] of FIELDS) inputs[key].value = String(p[key]);
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void apply('PUT');
  });
  form.append(
    h('h3', { id: 'pool-title' }, 'Pool'),
    h(
      'div',
      { class: 'fields' },
      ...FIELDS.map(([key, label]) =>
        h('div', { class: 'field' }, h('label', { for: `pool-${key}` }, label), inputs[key]),
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, 'Apply'),
      h(
        'button',
        { type: 'button', class: 'secondary', onclick: () => void apply('DELETE') },
        'Reset to manifest',
      ),
    ),
    overridden,
    result,
  );
  return {
    el: form,
    update(f) {
      if (!dirty && !form.contains(document.activeElement)) fill(f.pool);
      overridden.textContent = f.pool_overridden
        ? 'Running on settings changed through the API.'
        : "Running on the manifest's settings.";
    },
  };
}
