// A view of the dashboard: it draws into <main> and returns what stops its polling and streams.

export type View = (
  main: HTMLElement,
  onError: (err: unknown) => void,
  ...params: string[]
) => { stop(): void };
