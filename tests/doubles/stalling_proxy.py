"""A TCP proxy (to PostgreSQL, say) that can stop forwarding: connections stay open,
new ones are accepted, nothing is answered: a network partition as a client sees it."""

from __future__ import annotations

import select
import socket
import threading


class StallingProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.stalled = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, name="stalling-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(client)
            if self.stalled.is_set():
                continue  # accepted, never answered
            upstream = socket.create_connection(self.target)
            self._held.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        while True:
            try:
                ready, _, _ = select.select(list(peers), [], [], 0.2)
            except (OSError, ValueError):
                return
            if self.stalled.is_set():
                return  # stop forwarding; keep both sockets open
            for sock in ready:
                try:
                    data = sock.recv(65536)
                    if data:
                        peers[sock].sendall(data)
                except OSError:
                    data = b""
                if not data:
                    return

    def close(self) -> None:
        self._listener.close()
        for sock in self._held:
            sock.close()

    def __enter__(self) -> StallingProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
