"""A counting TCP proxy in front of PostgreSQL: how many round trips and transactions a client
makes, read from the wire protocol.

    python bench/pgcount.py --port 6543 --control-port 6544 [--target 127.0.0.1:5432]

The server under test connects to ``--port`` (with ``sslmode=disable&gssencmode=disable``: the
proxy reads the plain protocol) and the proxy forwards every byte both ways. It frames the
messages (a type byte and a length, after the untyped start-up packet) and counts:

* ``round_trips``: the times the client sent a query (``Query``, or a ``Sync`` ending an
  extended-protocol batch) while it was waiting for nothing, i.e. a wait for the server's
  answer. Pipelined queries sent before the first answer count once, as they cost one wait;
* ``syncs``: the ``ReadyForQuery`` answers (one per simple query or extended batch);
* ``transactions``: the ``ReadyForQuery`` answers whose status is idle (``I``): each marks the
  end of a transaction, explicit (``COMMIT``) or implicit (a statement outside one), which is
  what ``pg_stat_database.xact_commit`` counts;
* ``connections``: connections opened;
* ``statements``: how often each statement ran, by the first 100 characters of its SQL.

Why a proxy: ``pg_stat_statements`` needs ``shared_preload_libraries`` and a server restart
(the server is shared), and ``pg_stat_database`` counts transactions, not round trips, and
flushes them late. Connecting to ``--control-port`` returns the counters as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import struct

COUNTS = {"round_trips": 0, "syncs": 0, "transactions": 0, "connections": 0}
#: statements executed, by their SQL's first 100 characters (a Query, or a Bind of a prepared
#: or unnamed statement whose Parse gave its text)
STATEMENTS: dict[str, int] = {}
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


def frame(buffer: bytearray) -> tuple[int, bytes] | None:
    """Take one typed message (its type byte and body) off the front of ``buffer``; None while
    it has not all arrived."""
    if len(buffer) < 5:
        return None
    (length,) = struct.unpack("!I", buffer[1:5])
    if len(buffer) < 1 + length:
        return None
    kind, body = buffer[0], bytes(buffer[5 : 1 + length])
    del buffer[: 1 + length]
    return kind, body


class Link:
    """One client connection's protocol state."""

    def __init__(self) -> None:
        self.outstanding = 0  # queries sent and not yet answered with ReadyForQuery
        self.started = False  # past the untyped start-up packet
        self.refusals = 0  # one-byte answers to SSL/GSS requests still to come from the server
        self.parsed: dict[bytes, str] = {}  # statement name -> its SQL

    def from_client(self, buffer: bytearray) -> None:
        while True:
            if not self.started:
                if len(buffer) < 8:
                    return
                length, code = struct.unpack("!II", buffer[:8])
                if len(buffer) < length:
                    return
                del buffer[:length]
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    self.refusals += 1
                    continue
                self.started = True
                self._sent()  # the start-up packet is answered with ReadyForQuery
                continue
            framed = frame(buffer)
            if framed is None:
                return
            kind, body = framed
            if kind in (ord("Q"), ord("S")):
                self._sent()
            if kind == ord("Q"):
                self._executed(body.split(b"\0", 1)[0].decode(errors="replace"))
            elif kind == ord("P"):
                name, sql = body.split(b"\0", 2)[:2]
                self.parsed[name] = sql.decode(errors="replace")
            elif kind == ord("B"):
                name = body.split(b"\0", 2)[1]
                self._executed(self.parsed.get(name, "?"))

    @staticmethod
    def _executed(sql: str) -> None:
        key = " ".join(sql.split())[:100]
        STATEMENTS[key] = STATEMENTS.get(key, 0) + 1

    def _sent(self) -> None:
        if self.outstanding == 0:
            COUNTS["round_trips"] += 1
        self.outstanding += 1

    def from_server(self, buffer: bytearray) -> None:
        while True:
            if self.refusals and buffer:
                del buffer[:1]  # "N": no SSL/GSS, go on in plain text
                self.refusals -= 1
                continue
            framed = frame(buffer)
            if framed is None:
                return
            kind, body = framed
            if kind == ord("Z"):
                COUNTS["syncs"] += 1
                if body[:1] == b"I":
                    COUNTS["transactions"] += 1
                self.outstanding = max(0, self.outstanding - 1)


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parse: object) -> None:
    buffer = bytearray()
    try:
        while data := await reader.read(65536):
            buffer += data
            parse(buffer)  # type: ignore[operator]
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--target", default="127.0.0.1:5432")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        COUNTS["connections"] += 1
        server_r, server_w = await asyncio.open_connection(host, int(port))
        link = Link()
        await asyncio.gather(
            pump(client_r, server_w, link.from_client),
            pump(server_r, client_w, link.from_server),
        )

    async def control(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(json.dumps({**COUNTS, "statements": STATEMENTS}).encode() + b"\n")
        await writer.drain()
        writer.close()

    proxy = await asyncio.start_server(relay, "127.0.0.1", args.port)
    controller = await asyncio.start_server(control, "127.0.0.1", args.control_port)
    async with proxy, controller:
        await asyncio.gather(proxy.serve_forever(), controller.serve_forever())


if __name__ == "__main__":
    asyncio.run(main())
