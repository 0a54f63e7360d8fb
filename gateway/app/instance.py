"""One gateway per data directory and per port, refused before anything is opened.

Two gateways on one data directory would run two sequencers over one SQLite log: the second
reuses the first's leaf indexes and the first then fails every submission. Two gateways on
one gRPC port (``SO_REUSEPORT``) would both listen and split new connections between two
logs. So ``serve`` takes an exclusive ``flock`` on ``<data_dir>/yrdgw.lock`` (the file holds
the holder's PID; the kernel drops the lock when the process ends, however it ends) and
checks both ports are free before it builds anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from pathlib import Path

from gateway.errors import Code, ConfigError

__all__ = [
    "LOCK_NAME",
    "DataDirInUse",
    "InstanceLock",
    "PortInUse",
    "bind_listener",
    "check_port_free",
]

LOCK_NAME = "yrdgw.lock"
_UNAVAILABLE = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)


class DataDirInUse(ConfigError):
    """Another live process holds the data directory's lock."""

    code = Code.DATA_DIR_IN_USE

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"data directory {data_dir} is in use by another yrdgw ({holder})")
        self.data_dir = data_dir
        self.pid = pid


class PortInUse(ConfigError):
    """A port the gateway must listen on is already taken."""

    code = Code.PORT_IN_USE

    def __init__(self, what: str, host: str, port: int, reason: str = "in use") -> None:
        super().__init__(f"{what} port {host}:{port} is {reason}")
        self.what = what
        self.host = host
        self.port = port


class InstanceLock:
    """The exclusive lock on a data directory; release it (or leave the ``with``) at exit."""

    def __init__(self, data_dir: Path) -> None:
        """Take the lock on ``data_dir`` (created if missing) and write our PID into it.

        1. the directory exists and is a directory (a file in the way is a ``ConfigError``);
        2. the lock file is opened without truncating, so a refused attempt cannot erase
           the holder's PID;
        3. ``flock(LOCK_EX | LOCK_NB)``: if held, :class:`DataDirInUse` names the holder;
        4. our PID replaces the file's content.
        """
        self.path = Path(data_dir) / LOCK_NAME
        # (1): the directory
        if Path(data_dir).exists() and not Path(data_dir).is_dir():
            raise ConfigError(f"data directory {data_dir} is not a directory")
        try:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot use data directory {data_dir}: {exc.strerror or exc}"
            ) from exc
        # (2): open without truncating
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot open lock file {self.path}: {exc.strerror or exc}") from exc
        # (3): exclusive, non-blocking
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(self._fd)
            self._close()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DataDirInUse(Path(data_dir), pid) from exc
            raise ConfigError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        # (4): our PID
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Drop the lock. The file stays: unlinking it could race with a starting instance."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text.isdigit() else None
    except (OSError, UnicodeDecodeError):
        return None


def _addresses(
    what: str, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
) -> list[tuple]:
    if not isinstance(host, str) or not host:
        raise ConfigError(f"listen host must be a host name or address, got {host!r}")
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{what} port must be 0..65535, got {port!r}")
    try:
        infos = socket.getaddrinfo(
            host, port, family, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve listen address {host!r}: {exc.strerror}") from exc
    return [(family, kind, proto, address) for family, kind, proto, _, address in infos]


def check_port_free(what: str, host: str, port: int) -> None:
    """Raise :class:`PortInUse` if ``host:port`` cannot be bound without ``SO_REUSEPORT``.

    Port 0 (any free port) always passes. The probe binds with ``SO_REUSEADDR`` like the
    real listeners, so a port in TIME_WAIT is free but one with a listener is not.
    """
    addresses = _addresses(what, host, port)
    if port == 0:
        return
    for family, kind, proto, address in addresses:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
        except OSError as exc:
            if exc.errno in _UNAVAILABLE:
                continue
            raise _port_error(what, host, port, exc) from exc


def bind_listener(
    what: str, host: str, port: int, backlog: int = 2048, *, reuse_port: bool = False
) -> socket.socket:
    """A listening socket on ``host:port``: IPv6 if ``host`` has a colon, else IPv4 (as
    uvicorn chooses, so ``localhost`` stays 127.0.0.1).

    Binding it here, rather than inside the HTTP server, makes a taken port a
    :class:`PortInUse` instead of the server's own exit.
    """
    wanted = socket.AF_INET6 if ":" in str(host) else socket.AF_INET
    family, kind, proto, address = _addresses(what, host, port, wanted)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:  # the workers of one deployment (gateway/app/workers.py) only
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise _port_error(what, host, port, exc) from exc
    sock.set_inheritable(False)
    return sock


def _port_error(what: str, host: str, port: int, exc: OSError) -> PortInUse:
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(what, host, port, "already in use (is another gateway running?)")
    return PortInUse(what, host, port, f"not available: {exc.strerror or exc}")
