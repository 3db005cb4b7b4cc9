# In-container bootstrap for `runtime: python`: loads the handler once, then dials the gateway's unix
# socket and serves invocations over HTTP/1.1 on the connections it dialed, as node.mjs does. The
# protocol is defined in runtime/protocol.ts (test/unit/protocol.test.ts holds this file to it).
# Mounted read-only into every function container; it depends on nothing but Python's standard library.
import importlib.util
import json
import os
import signal
import time
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler

# The bootstrap's own modules sit beside it. Python puts a script's directory first on sys.path,
# unless PYTHONSAFEPATH (which a manifest's env may set) says not to; and that directory is read-only.
BOOTSTRAP_DIR = os.path.dirname(os.path.abspath(__file__))
if BOOTSTRAP_DIR not in sys.path:
    sys.path.insert(0, BOOTSTRAP_DIR)
sys.dont_write_bytecode = True
from titan_dial import Spares  # noqa: E402
from titan_log_tags import TaggedStream, current_id, run_tagged  # noqa: E402

SOCKET_PATH = os.environ["TITAN_SOCKET"]
# A stem cell (TITAN_STEM=1) starts with no function: the gateway's specialize request brings its
# environment, and the handler is loaded then, once. Anything else loads it now.
STEM = os.environ.get("TITAN_STEM") == "1"
HANDLER_PATH = os.environ.get("TITAN_HANDLER", "")
FUNCTION_NAME = os.environ.get("TITAN_FUNCTION", "")
# The manifest's `config:`, checked by the gateway to be a JSON object. Shared by every invocation:
# handlers read it, never change it.
FUNCTION_CONFIG = json.loads(os.environ.get("TITAN_FUNCTION_CONFIG") or "{}")
SHOWN_PATH = HANDLER_PATH[len("/fn/"):] if HANDLER_PATH.startswith("/fn/") else HANDLER_PATH
# "stem": waiting for a function; "loading": a specialize request is being served; "function": it has one.
state = "stem" if STEM else "function"
state_lock = threading.Lock()


# Every line written while an invocation runs carries its id (titan_log_tags.py).
sys.stdout = TaggedStream(sys.stdout)
sys.stderr = TaggedStream(sys.stderr)


def describe(err, load=False):
    name = type(err).__name__
    message = str(err) or name
    # A load error reaches the user as a bare message ("handler failed to load: ..."), and in Python
    # the type says as much as the text (NameError, ModuleNotFoundError): keep both.
    if load:
        message = f"{name}: {message}"
    stack = "".join(traceback.format_exception(type(err), err, err.__traceback__)).rstrip("\n").split("\n")
    described = {"name": name, "message": message, "stack": "\n".join(stack[-12:])}
    # An exception whose `status` is 400-499 says the input was bad: the gateway answers 400
    # function_rejected and an event is not retried.
    status = getattr(err, "status", None)
    if not load and isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 499:
        described["rejected"] = True
    return described


def load_handler():
    # The function's own modules import as siblings (`import helpers` beside main.py).
    sys.path.insert(0, os.path.dirname(HANDLER_PATH))
    spec = importlib.util.spec_from_file_location("titan_handler", HANDLER_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"{SHOWN_PATH} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["titan_handler"] = module
    spec.loader.exec_module(module)
    fn = getattr(module, "handler", None)
    if not callable(fn):
        raise TypeError(f"{SHOWN_PATH} defines no function named 'handler': expected def handler(event, context)")
    return fn


handler = None
load_error = None
if not STEM:
    try:
        handler = load_handler()
    except BaseException as e:  # SyntaxError, ImportError, even SystemExit at module level
        load_error = e


def specialize(body):
    """Become the function the body names: `env` is the whole environment its own container would
    have been given (the image's variables stay). Only once: a second call, even one the function
    makes from inside, is refused. Returns why it was refused, or None."""
    global handler, load_error, HANDLER_PATH, FUNCTION_NAME, FUNCTION_CONFIG, SHOWN_PATH, state
    with state_lock:
        if state != "stem":
            return f"already specialized as '{FUNCTION_NAME}'" if STEM else "not a stem cell"
        state = "loading"
    try:
        load(json.loads(body)["env"])
    finally:
        state = "function"
    return None


def load(env):
    global handler, load_error, HANDLER_PATH, FUNCTION_NAME, FUNCTION_CONFIG, SHOWN_PATH
    os.environ.pop("TITAN_STEM", None)
    os.environ.update(env)
    if "TZ" in env:
        time.tzset()  # what the C library read at start
    HANDLER_PATH = env["TITAN_HANDLER"]
    FUNCTION_NAME = env.get("TITAN_FUNCTION", "")
    FUNCTION_CONFIG = json.loads(env.get("TITAN_FUNCTION_CONFIG") or "{}")
    SHOWN_PATH = HANDLER_PATH[len("/fn/"):] if HANDLER_PATH.startswith("/fn/") else HANDLER_PATH
    importlib.invalidate_caches()  # /fn was empty when the interpreter started
    try:
        handler = load_handler()
    except BaseException as e:
        load_error = e


STEM_ERROR = {"name": "StemCellError", "message": "this container is a stem cell with no function loaded: it serves invocations only once the gateway specialized it"}


# Coroutines of every invocation run on one event loop in its own thread, as Node runs every
# invocation on one loop: module-level async resources (clients, locks) stay usable across calls.
_loop = None
_loop_lock = threading.Lock()


def event_loop():
    global _loop
    with _loop_lock:
        if _loop is None:
            import asyncio  # here, not at the top: it adds 0.2 s to every start of a sync handler's container

            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="titan-asyncio", daemon=True).start()
        return _loop


class Context:
    """What a handler gets as `context`: the invocation's fields as attributes, and emit()."""

    def __init__(self, raw):
        self.invocation_id = raw.get("invocationId")
        self.function_name = FUNCTION_NAME
        self.config = FUNCTION_CONFIG
        self.deadline = raw.get("deadline")  # epoch milliseconds
        self.trigger = raw.get("trigger") or {}
        self._emits = []

    def emit(self, topic, type, data=None):
        if not isinstance(topic, str) or not topic or not isinstance(type, str) or not type:
            raise TypeError("context.emit(topic, type, data): topic and type must be non-empty strings")
        self._emits.append({"topic": topic, "type": type, "data": data})

    def __repr__(self):
        return f"Context(invocation_id={self.invocation_id!r}, function_name={self.function_name!r})"


def call_handler(event, context):
    result = handler(event, context)
    if hasattr(result, "__await__"):  # a coroutine, or any other awaitable
        import asyncio

        ident = current_id.get()

        async def wait():
            current_id.set(ident)  # the task runs in a copy of the loop thread's context
            return await result
        result = asyncio.run_coroutine_threadsafe(wait(), event_loop()).result()
    return result


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses its connections

    def log_message(self, format, *args):  # no access log on the function's stderr
        pass

    def send(self, status, body, outcome=None, envelope=False):
        data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if outcome:
            self.send_header("x-titan-outcome", outcome)
        if envelope:
            self.send_header("x-titan-envelope", "1")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        spares.claim(self)
        if self.path != "/healthz":
            return self.send(404, {"ok": False})
        self.health()

    def health(self):
        if load_error is not None:
            return self.send(500, {"ok": False, "error": describe(load_error, load=True)})
        self.send(200, {"ok": True, "stem": True} if state == "stem" else {"ok": True})

    def do_POST(self):
        spares.claim(self)
        if self.path == "/specialize":
            return self.specialize()
        self.invoke()

    def specialize(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        refused = specialize(raw.decode("utf-8"))
        if refused is not None:
            return self.send(409, {"ok": False, "error": {"name": "StemCellError", "message": f"refused: {refused}"}})
        self.health()

    def invoke(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/invoke":
            return self.send(404, {"ok": False})
        if state != "function":
            return self.send(200, STEM_ERROR, "error")
        if load_error is not None:
            return self.send(200, describe(load_error, load=True), "error")
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as e:  # RecursionError: nested deeper than Python parses
            return self.send(200, {"name": "ProtocolError", "message": f"bad invocation body: {e}"}, "error")
        context = Context(payload.get("context") or {})
        try:
            result = run_tagged(context.invocation_id, call_handler, payload.get("event"), context)
        except BaseException as e:  # a handler's sys.exit() is its error, not the container's end
            return self.send(200, describe(e), "error")
        emits = context._emits
        body = {"result": result, "emits": emits} if emits else result
        try:
            self.send(200, body, "ok", envelope=bool(emits))
        except (TypeError, ValueError, RecursionError) as e:
            self.send(200, {"name": "TypeError", "message": f"result is not JSON-serialisable: {e}"}, "error")


spares = Spares(SOCKET_PATH, Handler)


def main():
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: done.set())
    signal.signal(signal.SIGINT, lambda signum, frame: done.set())
    spares.dial()
    done.wait()


main()
