"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol.

Replies come from a script (a list of steps, consumed in order) or, when the script is empty,
from a ``default`` callable. Each step is a dict:
  {"content": "..."}                          200 with that message (usage counted by words)
  {"status": 429, "retry_after": "0.05"}      error status, optional Retry-After header
  {"status": 500}
  {"sleep": 2.0}                              hold the request that long (client timeouts)
Streaming requests get server-sent events, with a final usage chunk when asked for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class FakeOpenAI:
    def __init__(self, default: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.script: list[dict[str, Any]] = []
        self.default = default or (lambda req: {"content": "ok"})
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with outer.lock:
                    outer.requests.append(body)
                    step = outer.script.pop(0) if outer.script else None
                if step is None:
                    step = outer.default(body)
                if "sleep" in step:
                    time.sleep(step["sleep"])
                    step = {k: v for k, v in step.items() if k != "sleep"} or {"content": "late"}
                status = step.get("status", 200)
                if status != 200:
                    payload = json.dumps({"error": {"message": f"injected {status}", "type": "test"}}).encode()
                    self.send_response(status)
                    if "retry_after" in step:
                        self.send_header("Retry-After", step["retry_after"])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                content = step["content"]
                prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
                usage = {"prompt_tokens": prompt, "completion_tokens": len(content.split()),
                         "total_tokens": prompt + len(content.split())}
                if body.get("stream"):
                    self._stream(body, content, usage)
                    return
                payload = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": usage,
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, body: dict[str, Any], content: str, usage: dict[str, int]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body.get("model", "m")}
                words = content.split(" ")
                for i, w in enumerate(words):
                    piece = w if i == 0 else " " + w
                    ev = {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(ev)}\n\n".encode())
                if (body.get("stream_options") or {}).get("include_usage"):
                    self.wfile.write(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # A client that timed out has closed its socket: writing the late reply fails. Expected.
                import sys

                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
