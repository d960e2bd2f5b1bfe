"""The relay's callbacks on fake transports: data goes across, backpressure pauses the
other side, EOF is passed on, both EOFs close, an error aborts the other side."""

from __future__ import annotations

import asyncio

from orbit.net import Endpoint
from orbit.net._relay import Relay


class FakeTransport(asyncio.Transport):
    """Records what the relay asks of a transport."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.reading = True
        self.eof_written = False
        self.state = "open"
        self.limits: tuple[int, int] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def close(self) -> None:
        self.state = "closed"

    def abort(self) -> None:
        self.state = "aborted"

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.limits = (high or 0, low or 0)


def paired() -> tuple[Relay, FakeTransport, FakeTransport, list[Relay]]:
    closed: list[Relay] = []
    relay = Relay(Endpoint("127.0.0.1", 1), closed.append)
    client, upstream = FakeTransport(), FakeTransport()
    relay.upstream.connection_made(upstream)
    relay.client.connection_made(client)
    assert not client.reading  # nothing flows before the pair is complete
    assert not upstream.reading
    relay.start(high_water=1000, low_water=100)
    return relay, client, upstream, closed


def test_data_goes_across_in_both_directions() -> None:
    relay, client, upstream, _ = paired()
    assert client.reading
    assert upstream.reading
    assert client.limits == upstream.limits == (1000, 100)
    relay.client.data_received(b"request")
    relay.upstream.data_received(b"reply")
    assert upstream.written == [b"request"]
    assert client.written == [b"reply"]


def test_a_full_write_buffer_pauses_reading_the_other_side() -> None:
    relay, client, upstream, _ = paired()
    relay.client.pause_writing()  # the client reads slowly: stop reading upstream
    assert not upstream.reading
    assert client.reading
    relay.client.resume_writing()
    assert upstream.reading


def test_eof_is_passed_on_and_the_other_direction_keeps_flowing() -> None:
    relay, client, upstream, closed = paired()
    assert relay.client.eof_received() is True  # keep the transport open
    assert upstream.eof_written
    relay.upstream.data_received(b"the reply after the request's end")
    assert client.written == [b"the reply after the request's end"]
    relay.client.pause_writing()  # must not resume reading a side that ended
    relay.client.resume_writing()
    assert relay.upstream.eof_received() is True
    assert client.state == upstream.state == "closed"
    relay.client.connection_lost(None)
    relay.upstream.connection_lost(None)
    assert closed == [relay]  # reported once


def test_an_error_on_one_side_aborts_the_other() -> None:
    relay, client, _, closed = paired()
    relay.upstream.connection_lost(ConnectionResetError())
    assert client.state == "aborted"
    assert relay.done
    assert closed == [relay]


def test_abort_resets_both_sides() -> None:
    relay, client, upstream, _ = paired()
    relay.abort()
    assert client.state == upstream.state == "aborted"


def test_what_arrives_before_the_pair_is_complete_is_held_then_passed_on() -> None:
    """uvloop starts reading after ``connection_made`` even when it paused reading."""
    relay = Relay(Endpoint("127.0.0.1", 1), lambda relay: None)
    client, upstream = FakeTransport(), FakeTransport()
    relay.upstream.connection_made(upstream)
    upstream.reading = True  # as uvloop does
    relay.upstream.data_received(b"server speaks first")
    assert not upstream.reading  # paused again until the client is there
    relay.client.connection_made(client)
    client.reading = True
    relay.client.data_received(b"early request")
    assert relay.client.eof_received() is True  # and its end, too
    relay.start(high_water=1000, low_water=100)
    assert client.written == [b"server speaks first"]
    assert upstream.written == [b"early request"]
    assert upstream.eof_written
    assert upstream.reading  # the other direction flows
    relay.upstream.data_received(b"reply")
    assert client.written == [b"server speaks first", b"reply"]
