"""asyncio integration for pycurl-rs: :class:`AsyncCurlMulti`.

The class drives a :class:`pycurl.CurlMulti` purely through its socket
interface: the multi handle tells us which sockets to watch
(``M_SOCKETFUNCTION``) and when it next needs a timeout tick
(``M_TIMERFUNCTION``); we translate those requests into
``loop.add_reader`` / ``loop.add_writer`` registrations and a single
``loop.call_later`` timer, and call ``socket_action`` back when the loop says
a socket is ready or the timer expires.  Finished transfers are collected with
``info_read`` after every ``socket_action`` call.  There are no helper threads
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
_POLL_INOUT = _pycurl.POLL_INOUT
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
        self._multi.setopt(_pycurl.M_SOCKETFUNCTION, self._socket_cb)
        self._multi.setopt(_pycurl.M_TIMERFUNCTION, self._timer_cb)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # id(curl) -> (curl, future, our done callback on it); insertion order is add order.
        self._transfers: Dict[int, Tuple[Curl, asyncio.Future, Any]] = {}
        self._readers: Set[int] = set()
        self._writers: Set[int] = set()
        self._timer: Optional[asyncio.Handle] = None
        # self._timer is a call_soon (the multi asked for 0 ms), not a call_later.
        self._timer_soon = False
        self._closed = False
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

    # ------------------------------------------------------------------
    # public API

    @property
    def closed(self) -> bool:
        """True once the underlying multi handle has been closed."""
        return self._closed or bool(self._multi.closed)

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

        loop = asyncio.get_running_loop()
        self._bind(loop)
        key = id(curl)
        if key in self._transfers:
            raise RuntimeError("Curl handle is already registered")
        was_bound = bool(self._transfers) or self._loop_used
        future = loop.create_future()
        # The multi handle may call the timer callback synchronously from
        # add_handle, so the loop has to be known before this point.
        was_driving, self._driving = self._driving, True
        try:
            self._multi.add_handle(curl)
        except BaseException:
            # A failed add leaves nothing behind: no timer, no loop binding.
            if not self._transfers:
                self._cancel_timer()
                if not was_bound:
                    self._loop = None
            raise
        finally:
            self._driving = was_driving
        self._loop_used = True
        done = functools.partial(self._future_done, curl)
        self._transfers[key] = (curl, future, done)
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
        entry = self._transfers.get(id(curl))
        if entry is None or entry[0] is not curl:
            raise RuntimeError("Curl handle is not registered")
        was_driving, self._driving = self._driving, True
        try:
            self._multi.remove_handle(curl)
        finally:
            self._driving = was_driving
        del self._transfers[id(curl)]
        future = entry[1]
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
            return tuple(entry[1] for entry in self._transfers.values())
        out = []
        for curl in curls:
            entry = self._transfers.get(id(curl))
            if entry is None or entry[0] is not curl:
                raise KeyError(curl)
            out.append(entry[1])
        return tuple(out)

    async def aclose(self) -> None:
        """aclose() -> None

        Coroutine: stop the timer, detach every transfer still in flight
        (their futures are cancelled), drop all socket watchers and close the
        underlying multi handle.  Calling it again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        self._cancel_timer()
        if self._reap is not None:
            self._reap.cancel()
            self._reap = None
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

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is None:
            if not _can_watch_sockets(loop):
                raise RuntimeError(
                    "AsyncCurlMulti needs an event loop that can watch sockets with "
                    f"add_reader()/add_writer(); {type(loop).__name__} cannot (the Windows "
                    "proactor loop is one such loop). Run it on a selector event loop: "
                    "asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy()) "
                    "on Windows, or asyncio.SelectorEventLoop() elsewhere"
                )
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("AsyncCurlMulti is bound to a different event loop")

    def _outside_change(self) -> None:
        # A callback not caused by this object: a Curl was paused or closed
        # by the application. Look for closed handles on the next iteration.
        if self._driving or self._reap is not None or self._loop is None or self._closed:
            return
        self._reap = self._loop.call_soon(self._reap_detached)

    def _reap_detached(self) -> None:
        """Cancels the futures of handles that left the multi without this
        object's help (Curl.close() while in flight)."""
        self._reap = None
        for key, (curl, future, _done) in list(self._transfers.items()):
            if curl not in self._multi:
                del self._transfers[key]
                if not future.done():
                    future.cancel()

    # ------------------------------------------------------------------
    # callbacks from the multi handle (called from inside socket_action,
    # add_handle, remove_handle; they only (re)arm loop watchers)

    def _socket_cb(self, what: int, fd: int, multi: Any, socketp: Any) -> int:
        loop = self._loop
        if loop is None:
            return 0
        if not self._driving:
            self._outside_change()
        # Called for every socket of every transfer: set tests only, no helper calls.
        readers, writers = self._readers, self._writers
        try:
            want_read = what == _POLL_IN or what == _POLL_INOUT
            want_write = what == _POLL_OUT or what == _POLL_INOUT
            if want_read:
                if fd not in readers:
                    loop.add_reader(fd, self._on_ready, fd, _CSELECT_IN)
                    readers.add(fd)
            elif fd in readers:
                readers.discard(fd)
                loop.remove_reader(fd)
            if want_write:
                if fd not in writers:
                    loop.add_writer(fd, self._on_ready, fd, _CSELECT_OUT)
                    writers.add(fd)
            elif fd in writers:
                writers.discard(fd)
                loop.remove_writer(fd)
        except Exception as exc:  # e.g. a loop without add_reader
            self._watch_error = exc
            return -1
        return 0

    def _timer_cb(self, timeout_ms: int) -> int:
        if not self._driving:
            self._outside_change()
        if timeout_ms == 0 and self._timer_soon and self._timer is not None:
            # Already due on the loop's next turn (each add_handle asks again): keep that call.
            return 0
        self._cancel_timer()
        loop = self._loop
        if loop is None or timeout_ms < 0 or self._closed:
            return 0
        self._timer_soon = timeout_ms == 0
        if timeout_ms == 0:
            self._timer = loop.call_soon(self._on_timeout)
        else:
            self._timer = loop.call_later(timeout_ms / 1000.0, self._on_timeout)
        return 0

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _drop_watchers(self) -> None:
        loop = self._loop
        readers, writers = self._readers, self._writers
        self._readers, self._writers = set(), set()
        if loop is None or loop.is_closed():
            return
        for fd in readers:
            loop.remove_reader(fd)
        for fd in writers:
            loop.remove_writer(fd)

    # ------------------------------------------------------------------
    # callbacks from the event loop

    def _on_ready(self, fd: int, mask: int) -> None:
        self._action(fd, mask)

    def _on_timeout(self) -> None:
        self._timer = None
        self._action(_SOCKET_TIMEOUT, 0)

    def _action(self, fd: int, mask: int) -> None:
        if self._closed:
            return
        failed = None
        was_driving, self._driving = self._driving, True
        try:
            self._multi.socket_action(fd, mask)
        except _pycurl.error as exc:
            failed = exc
        finally:
            self._driving = was_driving
        self._collect_finished()
        if failed is not None:
            self._fail_all(failed)

    def _collect_finished(self) -> None:
        while not self._closed:
            queued, ok_list, err_list = self._multi.info_read()
            for curl in ok_list:
                self._finish(curl, None)
            for curl, code, message in err_list:
                self._finish(curl, _pycurl.error(code, message))
            if not queued:
                break

    def _finish(self, curl: Curl, error: Optional[BaseException]) -> None:
        entry = self._transfers.pop(id(curl), None)
        if entry is None:
            return
        was_driving, self._driving = self._driving, True
        try:
            self._multi.remove_handle(curl)
        finally:
            self._driving = was_driving
        future = entry[1]
        # Resolved here: our own done callback would only find the transfer gone.
        future.remove_done_callback(entry[2])
        if future.done():
            return
        if error is None:
            future.set_result(curl)
        else:
            future.set_exception(error)

    def _fail_all(self, exc: BaseException) -> None:
        cause, self._watch_error = self._watch_error, None
        if cause is not None and exc.__cause__ is None:
            exc.__cause__ = cause
        for future in self._detach_all():
            err = _pycurl.error(*exc.args)
            err.__cause__ = exc.__cause__
            future.set_exception(err)

    def _detach_all(self) -> list:
        """Takes every registered handle off the multi; returns the futures still pending."""
        transfers = list(self._transfers.values())
        self._transfers.clear()
        pending = []
        for curl, future, _done in transfers:
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

    def _future_done(self, curl: Curl, future: asyncio.Future) -> None:
        # Runs for every outcome; only a future cancelled by its owner (the
        # transfer is still registered under this very future) needs work.
        if self._closed:
            return
        entry = self._transfers.get(id(curl))
        if entry is None or entry[1] is not future:
            return
        del self._transfers[id(curl)]
        was_driving, self._driving = self._driving, True
        try:
            self._multi.remove_handle(curl)
        except _pycurl.error:
            pass
        finally:
            self._driving = was_driving


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

