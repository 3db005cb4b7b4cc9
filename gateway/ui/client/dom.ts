// DOM building for the dashboard. Every value shown comes from functions, their logs or events, so
// every value is text: nodes are made with createElement and filled with textContent, attributes
// are set one by one, and no string ever becomes markup (the page's CSP enforces Trusted Types).

export type Child = Node | string | number | null | undefined | false;
type Listener = (e: Event) => void;
export type Props = Record<string, string | number | boolean | undefined | Listener>;

/** An element: `on<event>` props with functions become listeners, the rest attributes (a string `on*` is refused). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === 'function') {
      if (!name.startsWith('on')) throw new Error(`a listener prop must start with on: ${name}`);
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (/^on/i.test(name)) {
      throw new Error(`event handler attributes are never set from strings: ${name}`);
    } else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(
      typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c,
    );
  }
}

/** Replace an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Set text only when it changed: keeps screen readers and selections quiet on a poll. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** A link to a dashboard view; the route's parts are URI-encoded (a name is never markup or a URL). */
export function routeLink(text: string, ...parts: string[]): HTMLAnchorElement {
  return h('a', { href: `#/${parts.map(encodeURIComponent).join('/')}` }, text);
}

/** Announce a message to screen readers and show it in the status line. */
export function announce(message: string): void {
  const status = document.getElementById('status');
  if (status) status.textContent = message;
}

export const fmt = {
  num: (n: number | null | undefined, unit = ''): string =>
    n === null || n === undefined ? '—' : `${Math.round(n * 10) / 10}${unit}`,
  ms: (n: number | null | undefined): string =>
    n === null || n === undefined ? '—' : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`,
  time: (epochMs: number): string => new Date(epochMs).toLocaleTimeString(),
};
