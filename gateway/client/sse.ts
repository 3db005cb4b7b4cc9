// Reading a server-sent event stream: each event's `data:` lines, joined, to a callback.

/** Calls `onData` with each event's data, until the stream ends; events without data are skipped. */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onData: (data: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    // The gateway ends events with a blank line and lines with \n; `:` lines are keep-alive comments.
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const data = buffer
        .slice(0, end)
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''));
      buffer = buffer.slice(end + 2);
      if (data.length) onData(data.join('\n'));
    }
  }
}
