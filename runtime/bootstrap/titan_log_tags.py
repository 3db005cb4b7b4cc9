# Tags each line a Python function writes with the invocation that wrote it (log-tags.mjs for Node).
# Part of the bootstrap (python.py imports it from beside itself): Python's standard library only.
import contextvars
import sys
import threading


# Per-invocation attribution of output, as log-tags.mjs does for Node: every line written while an
# invocation runs is prefixed with \x1e<invocationId>\x1f (runtime/logs.ts strips and indexes it).
# The id lives in a context variable: each request thread has its own context, and an async
# handler's task (and the tasks it creates) a copy. Threads a handler starts itself write untagged.
TAG_START, TAG_END, ESCAPED = "\x1e", "\x1f", "\u241e"
current_id = contextvars.ContextVar("titan_invocation", default="")


class TaggedStream:
    def __init__(self, stream):
        self._stream = stream
        self._lock = threading.Lock()
        self._owner = None  # whose unterminated last line is open: None none, "" an untagged one

    def write(self, text):
        if not text:
            return 0
        ident = current_id.get()
        with self._lock:
            out = "\n" if self._owner is not None and self._owner != ident else ""
            if ident == "":
                out += text.replace(TAG_START, ESCAPED)
            else:
                prefix = TAG_START + ident + TAG_END
                body = text[:-1].replace("\n", "\n" + prefix) + text[-1:]
                out += ("" if self._owner == ident else prefix) + body
            self._owner = None if text.endswith("\n") else ident
            self._stream.write(out)
            self._stream.flush()
        return len(text)

    def finish(self, ident):
        """An invocation returned: end its unfinished last line rather than leave it to the next writer."""
        with self._lock:
            if self._owner == ident:
                self._owner = None
                self._stream.write("\n")
                self._stream.flush()

    def __getattr__(self, name):  # flush, fileno, encoding, isatty...
        return getattr(self._stream, name)



def run_tagged(ident, fn, *args):
    if not isinstance(ident, str) or not ident:
        return fn(*args)
    token = current_id.set(ident)
    try:
        return fn(*args)
    finally:
        current_id.reset(token)
        sys.stdout.finish(ident)
        sys.stderr.finish(ident)
