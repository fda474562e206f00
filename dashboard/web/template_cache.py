"""Compiled templates shared by every app of the process.

Jinja compiles each template once per environment, and every app has its own: a process
that builds several apps (the test suite builds hundreds, ``dashboard plugins`` builds one
beside the server's) paid ~30 ms per template and app, most of a test's time. Jinja's
bytecode cache keys an entry by template name and file and checks the source's checksum
when it loads it, so an edited template is compiled afresh.
"""

from __future__ import annotations

import threading

from flask import Flask
from jinja2.bccache import Bucket, BytecodeCache


class SharedBytecodeCache(BytecodeCache):
    """Bytecode of compiled templates, in this process's memory."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            self._code[bucket.key] = bucket.bytecode_to_string()


_SHARED = SharedBytecodeCache()


def init_app(app: Flask) -> None:
    """Let ``app`` reuse templates another app of this process compiled."""
    app.jinja_env.bytecode_cache = _SHARED
