# Dialing the gateway: the bootstrap serves on connections it opens to the gateway's unix socket.
# Part of the bootstrap (python.py imports it from beside itself): Python's standard library only.
import os
import socket
import sys
import threading
import time

# The socket is the gateway's, in a directory this container sees read-only. One thread per dialed
# connection. One connection the gateway has not used yet is kept dialed, so a call never waits for a
# dial: a connection parked in the gateway's free list is idle here, but the gateway's waiting calls
# cannot have it, so the signal to dial is the gateway taking the fresh one (its first request).
MAX_CONNECTIONS = 1024


class Spares:
    def __init__(self, socket_path, handler_class):
        self._socket_path = socket_path
        self._handler_class = handler_class  # serves one connection, calling claim() on its first request
        self._lock = threading.Lock()
        self.live = 0
        self.fresh = 0
        self.dialing = False

    def claim(self, handler):
        """The first request on a connection: the gateway took the fresh one; dial the next."""
        if getattr(handler, "_claimed", False):
            return
        handler._claimed = True
        with self._lock:
            self.fresh -= 1
        self.dial()

    def dial(self):
        with self._lock:
            if self.dialing or self.fresh > 0 or self.live >= MAX_CONNECTIONS:
                return
            self.dialing = True
        threading.Thread(target=self._dial, daemon=True).start()

    def _dial(self):
        failures = 0
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self._socket_path)
                break
            except OSError as e:
                sock.close()
                # The gateway listens before the container starts: if it stays away, it let go of us.
                failures += 1
                if failures > 50:
                    sys.__stderr__.write(f"titan bootstrap: cannot reach the gateway at {self._socket_path}: {e}\n")
                    os._exit(1)
                time.sleep(min(0.01 * failures, 0.2))
        with self._lock:
            self.dialing = False
            self.live += 1
            self.fresh += 1
        handler = None
        try:
            handler = self._handler_class.__new__(self._handler_class)
            handler.__init__(sock, "gateway", None)
        except OSError:
            pass  # the gateway dropped the connection (a deadline cut the call)
        finally:
            sock.close()
            with self._lock:
                self.live -= 1
                if handler is None or not getattr(handler, "_claimed", False):
                    self.fresh -= 1  # closed before the gateway used it
            self.dial()
