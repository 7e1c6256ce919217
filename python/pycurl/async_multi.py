"""asyncio integration for pycurl-rs: :class:`AsyncCurlMulti`.

The class drives a :class:`pycurl.CurlMulti` purely through its socket
interface: the multi handle tells us which sockets to watch
(``M_SOCKETFUNCTION``) and when it next needs a timeout tick
(``M_TIMERFUNCTION``); we translate those requests into
``loop.add_reader`` / ``loop.add_writer`` registrations and a single
``loop.call_later`` timer, and call ``socket_action`` back when the loop says
a socket is ready or the timer expires.  Finished transfers are collected with
``info_read`` on the loop iteration after the multi handle reports them
(``M_NOTIFYFUNCTION``, ``M_NOTIFY_INFO_READ``).  There are no helper threads
and nothing polls.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Dict, Iterable, Optional, Set, Tuple

from . import _pycurl
from ._pycurl import Curl, CurlMulti

__all__ = ["AsyncCurlMulti"]

# Options whose callbacks this class installs itself; users may not replace them.
_OWNED_OPTIONS = frozenset(
    getattr(_pycurl, name)
    for name in ("M_SOCKETFUNCTION", "M_TIMERFUNCTION", "M_NOTIFYFUNCTION")
    if hasattr(_pycurl, name)
)
_OWNED_MESSAGE = "AsyncCurlMulti owns M_SOCKETFUNCTION/M_TIMERFUNCTION/M_NOTIFYFUNCTION"

_POLL_IN = _pycurl.POLL_IN
_POLL_OUT = _pycurl.POLL_OUT
_POLL_NONE = _pycurl.POLL_NONE
_POLL_REMOVE = _pycurl.POLL_REMOVE
_CSELECT_IN = _pycurl.CSELECT_IN
_CSELECT_OUT = _pycurl.CSELECT_OUT
_SOCKET_TIMEOUT = _pycurl.SOCKET_TIMEOUT


class AsyncCurlMulti:
    """AsyncCurlMulti(close_handles=False) -> AsyncCurlMulti object

    Runs :class:`pycurl.Curl` transfers on the running asyncio event loop.
    Every handle given to :meth:`add_handle` gets an :class:`asyncio.Future`;
    the future's result is the handle itself once its transfer succeeds, and
    its exception is a :class:`pycurl.error` ``(code, message)`` if the
    transfer fails.  ``await multi.perform(curl)`` is the one-transfer
    shorthand.

    Creating the object needs no event loop.  The first :meth:`add_handle`
    call ties the object to the loop that is running at that moment, and it
    can only be used from that loop afterwards.  The loop must support
    ``add_reader``/``add_writer`` (any selector-based loop does).

    Release the object with ``await multi.aclose()`` or by using it as an
    ``async with`` block.  *close_handles* is handed to the underlying
    :class:`pycurl.CurlMulti`.

    Example::

        async with pycurl.AsyncCurlMulti() as multi:
            handles = []
            for url in urls:
                c = pycurl.Curl()
                c.setopt(pycurl.URL, url)
                multi.add_handle(c)
                handles.append(c)
            done = await asyncio.gather(*multi.futures(), return_exceptions=True)
    """

    def __init__(self, close_handles: bool = False) -> None:
        self._multi = CurlMulti(close_handles=close_handles)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # Transfers in flight, in the order they were added.
        self._futures: Dict[Curl, asyncio.Future] = {}
        # Sockets the multi told us about and that carry a _SocketState (CurlMulti.assign).
        self._assigned_fds: Set[int] = set()
        self._timer: Optional[asyncio.Handle] = None
        # self._timer is a call_soon (the multi asked for 0 ms), not a call_later.
        self._timer_soon = False
        # Our own done callback on each future in self._futures, so _finish can take it off again.
        self._done_callbacks: Dict[Curl, Any] = {}
        # The drain of finished transfers scheduled by the notify callback.
        self._notify_handle: Optional[asyncio.Handle] = None
        # aclose() has begun: no new watchers or timers from here on.
        self._closing = False
        # A handle was added successfully: the loop binding is for good.
        self._loop_used = False
        # An exception raised while (un)registering a socket watcher inside
        # the socket callback; reported to the pending transfers afterwards.
        self._watch_error: Optional[BaseException] = None
        # True while this object itself calls into the multi (socket_action,
        # add/remove_handle): callbacks outside those come from a Curl being
        # paused or closed by the application.
        self._driving = False
        self._reap: Optional[asyncio.Handle] = None
        self._multi.setopt(_pycurl.M_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(_pycurl.M_TIMERFUNCTION, self._on_timer)
        # Finished transfers are collected when the multi says messages are waiting.
        self._multi.setopt(_pycurl.M_NOTIFYFUNCTION, self._on_notify)
        self._multi.notify_enable(_pycurl.M_NOTIFY_INFO_READ)

    # ------------------------------------------------------------------
    # public API

    @property
    def closed(self) -> bool:
        """True once the underlying multi handle has been closed."""
        return self._closing or bool(self._multi.closed)

    def setopt(self, option: int, value: Any) -> None:
        """setopt(option, value) -> None

        Set an option on the underlying :class:`pycurl.CurlMulti`.  The
        callback options this class relies on (``M_SOCKETFUNCTION``,
        ``M_TIMERFUNCTION``, ``M_NOTIFYFUNCTION``) are refused with
        :class:`ValueError`; everything else is passed straight through.
        """
        if option in _OWNED_OPTIONS:
            raise ValueError(_OWNED_MESSAGE)
        self._multi.setopt(option, value)

    def add_handle(self, curl: Curl) -> "asyncio.Future[Curl]":
        """add_handle(curl) -> asyncio.Future

        Start the transfer configured on *curl* and return a future for it.
        The future resolves to *curl* when the transfer succeeds and fails
        with :class:`pycurl.error` when it does not.  Cancelling the future
        stops the transfer; the handle is detached on the loop's next
        iteration.

        Raises :class:`RuntimeError` when no event loop is running, when the
        object is closed or bound to another loop, or when *curl* is already
        in flight here.
        """
        if self.closed:
            raise RuntimeError("AsyncCurlMulti is closed")
        if curl in self._futures:
            raise RuntimeError("Curl handle is already registered")
        was_bound = self._loop is not None and (bool(self._futures) or self._loop_used)
        loop = self._ensure_loop()
        future = loop.create_future()
        # Known before the multi sees the handle: its callbacks may look it up.
        self._futures[curl] = future
        # The driving flag is saved and restored inline: a context manager costs an object per call.
        was_driving, self._driving = self._driving, True
        try:
            self._multi.add_handle(curl)
        except BaseException:
            # A failed add leaves nothing behind: no timer, no loop binding.
            self._futures.pop(curl, None)
            if not self._futures:
                self._cancel_timer()
                if not was_bound:
                    self._loop = None
            raise
        finally:
            self._driving = was_driving
        self._loop_used = True
        done = functools.partial(self._on_future_done, curl)
        self._done_callbacks[curl] = done
        future.add_done_callback(done)
        return future

    async def perform(self, curl: Curl) -> Curl:
        """perform(curl) -> Curl

        Coroutine: run the transfer configured on *curl* and return *curl*
        once it has finished successfully; raise :class:`pycurl.error` if it
        fails.  Cancelling the awaiting task cancels the transfer.
        """
        return await self.add_handle(curl)

    def remove_handle(self, curl: Curl) -> None:
        """remove_handle(curl) -> None

        Detach *curl* now and cancel its future unless it has already
        finished.  Raises :class:`RuntimeError` if the object is closed or
        *curl* is not in flight here, :class:`pycurl.error` if the multi
        handle refuses the removal.
        """
        if self.closed:
            raise RuntimeError("AsyncCurlMulti is closed")
        future = self._futures.get(curl)
        if future is None:
            raise RuntimeError("Curl handle is not registered")
        was_driving, self._driving = self._driving, True
        try:
            self._multi.remove_handle(curl)
        finally:
            self._driving = was_driving
        del self._futures[curl]
        self._done_callbacks.pop(curl, None)
        if not future.done():
            future.cancel()

    def futures(self, curls: Optional[Iterable[Curl]] = None) -> "Tuple[asyncio.Future[Curl], ...]":
        """futures(curls=None) -> tuple of asyncio.Future

        A snapshot of the futures of the transfers currently in flight.
        Without an argument: all of them, in the order the handles were
        added.  With an iterable of handles: one future per handle, same
        order and length; :class:`KeyError` if one of them is not in flight.
        Finished or cancelled transfers drop out of later snapshots.
        """
        if curls is None:
            return tuple(self._futures.values())
        out = []
        for curl in curls:
            future = self._futures.get(curl)
            if future is None:
                raise KeyError(curl)
            out.append(future)
        return tuple(out)

    async def aclose(self) -> None:
        """aclose() -> None

        Coroutine: stop the timer, detach every transfer still in flight
        (their futures are cancelled), drop all socket watchers and close the
        underlying multi handle.  Calling it again does nothing.
        """
        if self._multi.closed:
            return
        self._closing = True
        for name in ("_timer", "_reap", "_notify_handle"):
            handle = getattr(self, name)
            if handle is not None:
                handle.cancel()
                setattr(self, name, None)
        for future in self._detach_all():
            future.cancel()
        try:
            self._multi.close()
        finally:
            self._cancel_timer()
            self._drop_watchers()

    async def __aenter__(self) -> "AsyncCurlMulti":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.aclose()

    # ------------------------------------------------------------------
    # loop binding

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, bound to this object on first use."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            proactor = getattr(asyncio, "ProactorEventLoop", None)
            if (proactor is not None and isinstance(loop, proactor)) or not _can_watch_sockets(loop):
                raise RuntimeError(
                    "AsyncCurlMulti requires a selector-style event loop: "
                    f"{type(loop).__name__} cannot watch sockets with add_reader()/add_writer() "
                    "(the Windows proactor loop is one such loop). Run it on a selector event loop: "
                    "asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy()) "
                    "on Windows, or asyncio.SelectorEventLoop() elsewhere"
                )
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("AsyncCurlMulti is bound to a different event loop")
        return loop

    def _outside_change(self) -> None:
        # A callback not caused by this object (callers test self._driving
        # first): a Curl was paused or closed by the application. Look for
        # closed handles on the next iteration.
        if self._reap is not None or self._loop is None or self._closing:
            return
        self._reap = self._loop.call_soon(self._reap_detached)

    def _reap_detached(self) -> None:
        """Cancels the futures of handles that left the multi without this
        object's help (Curl.close() while in flight)."""
        self._reap = None
        for curl, future in list(self._futures.items()):
            if curl not in self._multi:
                del self._futures[curl]
                self._done_callbacks.pop(curl, None)
                if not future.done():
                    future.cancel()

    # ------------------------------------------------------------------
    # callbacks from the multi handle (called from inside socket_action,
    # add_handle, remove_handle; they only (re)arm loop watchers)

    def _on_socket(self, what: int, fd: int, multi: Any, socketp: Any) -> int:
        loop = self._loop
        if loop is None:
            return 0
        if not self._driving:
            self._outside_change()
        try:
            if what == _POLL_REMOVE or what == _POLL_NONE:
                # NONE keeps the assignment: the socket's next interest finds its state again.
                if socketp is not None:
                    self._unwatch(fd, socketp, loop)
                if what == _POLL_REMOVE:
                    self._assigned_fds.discard(fd)
                return 0
            if self._closing:
                return 0
            state = socketp
            if state is None:
                state = _SocketState()
            want_read = what != _POLL_OUT
            want_write = what != _POLL_IN
            if want_read != state.read_registered:
                if want_read:
                    loop.add_reader(fd, self._on_readable, fd, state)
                else:
                    loop.remove_reader(fd)
                state.read_registered = want_read
            if want_write != state.write_registered:
                if want_write:
                    loop.add_writer(fd, self._on_writable, fd, state)
                else:
                    loop.remove_writer(fd)
                state.write_registered = want_write
            if socketp is None:
                multi.assign(fd, state)
                self._assigned_fds.add(fd)
        except Exception as exc:  # e.g. a loop without add_reader
            self._watch_error = exc
            return -1
        return 0

    def _on_timer(self, timeout_ms: int) -> int:
        if not self._driving:
            self._outside_change()
        if timeout_ms == 0 and self._timer_soon and self._timer is not None:
            # Already due on the loop's next turn (each add_handle asks again): keep that call.
            return 0
        self._cancel_timer()
        loop = self._loop
        if loop is None or timeout_ms < 0 or self._closing:
            return 0
        self._timer_soon = timeout_ms == 0
        if timeout_ms == 0:
            self._timer = loop.call_soon(self._fire_timeout)
        else:
            self._timer = loop.call_later(timeout_ms / 1000.0, self._fire_timeout)
        return 0

    def _on_notify(self, notification: int, curl: Any) -> None:
        # INFO_READ: finished transfers are waiting; collect them once the multi call returns.
        if self._closing or self._loop is None or self._notify_handle is not None:
            return
        self._notify_handle = self._loop.call_soon(self._drain_from_notify)

    @staticmethod
    def _unwatch(fd: int, state: "_SocketState", loop: asyncio.AbstractEventLoop) -> None:
        if state.read_registered:
            state.read_registered = False
            loop.remove_reader(fd)
        if state.write_registered:
            state.write_registered = False
            loop.remove_writer(fd)

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _drop_watchers(self) -> None:
        loop = self._loop
        fds, self._assigned_fds = self._assigned_fds, set()
        if loop is None or loop.is_closed():
            return
        for fd in fds:
            loop.remove_reader(fd)
            loop.remove_writer(fd)

    # ------------------------------------------------------------------
    # callbacks from the event loop

    def _on_readable(self, fd: int, state: "_SocketState") -> None:
        # A watcher dropped during this loop iteration may still be called once.
        if state.read_registered:
            self._drive(fd, _CSELECT_IN)

    def _on_writable(self, fd: int, state: "_SocketState") -> None:
        if state.write_registered:
            self._drive(fd, _CSELECT_OUT)

    def _fire_timeout(self) -> None:
        self._timer = None
        self._drive(_SOCKET_TIMEOUT, 0)

    def _drain_from_notify(self) -> None:
        self._notify_handle = None
        if not self._closing:
            self._collect_finished()

    def _drive(self, fd: int, mask: int) -> None:
        if self._closing:
            return
        failed = None
        was_driving, self._driving = self._driving, True
        try:
            self._multi.socket_action(fd, mask)
        except _pycurl.error as exc:
            failed = exc
        finally:
            self._driving = was_driving
        if failed is not None:
            self._collect_finished()
            self._fail_all(failed)

    def _collect_finished(self) -> None:
        while not self._closing:
            queued, ok_list, err_list = self._multi.info_read()
            for curl in ok_list:
                self._finish(curl, None)
            for curl, code, message in err_list:
                self._finish(curl, _pycurl.error(code, message))
            if not queued:
                break

    def _finish(self, curl: Curl, error: Optional[BaseException]) -> None:
        future = self._futures.pop(curl, None)
        if future is None:
            return
        was_driving, self._driving = self._driving, True
        try:
            self._multi.remove_handle(curl)
        finally:
            self._driving = was_driving
        done = self._done_callbacks.pop(curl, None)
        if done is not None:
            # Resolved here: our own done callback would only find the transfer gone.
            future.remove_done_callback(done)
        if future.done():
            return
        if error is None:
            future.set_result(curl)
        else:
            future.set_exception(error)

    def _fail_all(self, exc: BaseException) -> None:
        # Every pending transfer fails with the very error socket_action raised.
        cause, self._watch_error = self._watch_error, None
        if cause is not None and exc.__cause__ is None:
            exc.__cause__ = cause
        for future in self._detach_all():
            future.set_exception(exc)

    def _detach_all(self) -> list:
        """Takes every registered handle off the multi; returns the futures still pending."""
        transfers = list(self._futures.items())
        self._futures.clear()
        pending = []
        self._done_callbacks.clear()
        for curl, future in transfers:
            was_driving, self._driving = self._driving, True
            try:
                self._multi.remove_handle(curl)
            except _pycurl.error:
                pass
            finally:
                self._driving = was_driving
            if not future.done():
                pending.append(future)
        return pending

    def _on_future_done(self, curl: Curl, future: asyncio.Future) -> None:
        # Runs for every outcome; only a future cancelled by its owner (the
        # transfer is still registered under this very future) needs work.
        if self._closing or self._futures.get(curl) is not future:
            return
        del self._futures[curl]
        self._done_callbacks.pop(curl, None)
        was_driving, self._driving = self._driving, True
        try:
            self._multi.remove_handle(curl)
        except _pycurl.error:
            pass
        finally:
            self._driving = was_driving


class _SocketState:
    """What AsyncCurlMulti watches one socket for; given to the multi with
    CurlMulti.assign, so every later callback for that socket carries it."""

    __slots__ = ("read_registered", "write_registered")

    def __init__(self, read_registered: bool = False, write_registered: bool = False) -> None:
        self.read_registered = read_registered
        self.write_registered = write_registered

    def __repr__(self) -> str:
        return f"_SocketState(read_registered={self.read_registered}, write_registered={self.write_registered})"


def _can_watch_sockets(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` implements add_reader()/add_writer() (the Windows proactor loop does not)."""
    import socket

    a, b = socket.socketpair()
    try:
        loop.add_reader(a.fileno(), _noop)
        loop.remove_reader(a.fileno())
        loop.add_writer(a.fileno(), _noop)
        loop.remove_writer(a.fileno())
    except NotImplementedError:
        return False
    finally:
        a.close()
        b.close()
    return True


def _noop() -> None:
    pass

