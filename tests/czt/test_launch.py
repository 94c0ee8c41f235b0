"""Ports for test and benchmark runs come from below the ephemeral range, where no outbound connection lands."""

from __future__ import annotations

import socket

from czt.launch import LOWEST_PORT, free_port_run, listening_ports


def test_ports_lie_below_linux_default_ephemeral_range() -> None:
    ports = listening_ports(4, ephemeral=(32768, 60999))
    assert ports.start == LOWEST_PORT
    assert ports.stop + 4 <= 32768


def test_ports_lie_above_a_low_ephemeral_range() -> None:
    ports = listening_ports(4, ephemeral=(1024, 30000))
    assert ports.start == 30001
    assert ports.stop + 4 <= 65536


def test_ports_fall_back_to_everything_when_the_ephemeral_range_fills_it() -> None:
    ports = listening_ports(4, ephemeral=(10500, 65000))
    assert ports.start == LOWEST_PORT
    assert ports.stop == 65536 - 4


def test_a_free_run_can_be_bound_and_lies_where_listeners_go() -> None:
    base = free_port_run(4)
    assert base in listening_ports(4)
    sockets = [socket.socket() for _ in range(4)]
    try:
        for offset, listener in enumerate(sockets):
            listener.bind(("127.0.0.1", base + offset))
    finally:
        for listener in sockets:
            listener.close()
