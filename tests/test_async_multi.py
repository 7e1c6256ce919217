"""pycurl.AsyncCurlMulti: transfers driven by the asyncio event loop.

Every test runs its own event loop with asyncio.run (no pytest plugin) and
talks only to the loopback server from tests/servers.py.  The same file runs
unchanged under real pycurl 7.49 and under pycurl-rs.
"""

import asyncio
import io
import time

import pytest

import pycurl

import servers

AsyncCurlMulti = pycurl.AsyncCurlMulti

OWNED_MESSAGE = "AsyncCurlMulti owns M_SOCKETFUNCTION/M_TIMERFUNCTION/M_NOTIFYFUNCTION"


def run(coro, timeout=60):
    """Run ``coro`` on a fresh loop; a hung transfer fails the test instead
    of hanging the suite."""

    async def guarded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(guarded())


_bodies = {}


def make(url, **opts):
    """A Curl handle for ``url``; its response body is read with body_of(c)."""
    c = pycurl.Curl()
    buf = _bodies[id(c)] = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, buf.write)
    for name, value in opts.items():
        c.setopt(getattr(pycurl, name), value)
    return c


def body_of(c):
    return _bodies[id(c)].getvalue()


# ---------------------------------------------------------------------------
# basic transfers


def test_perform_returns_the_handle(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/hello"))
            result = await multi.perform(c)
            assert result is c
            assert c.getinfo(pycurl.RESPONSE_CODE) == 200
            assert body_of(c) == servers.HELLO
            assert multi.futures() == ()
            c.close()

    run(main())


def test_add_handle_returns_future_resolving_to_handle(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/bytes?n=1000"))
            fut = multi.add_handle(c)
            assert isinstance(fut, asyncio.Future)
            assert not fut.done()
            assert multi.futures() == (fut,)
            assert await fut is c
            assert fut.result() is c
            assert body_of(c) == servers.pattern(1000)
            assert multi.futures() == ()
            c.close()

    run(main())


def test_http_error_status_is_not_a_failure(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/status/404"))
            assert await multi.perform(c) is c
            assert c.getinfo(pycurl.RESPONSE_CODE) == 404
            c.close()

    run(main())


def test_upload_via_readfunction(server):
    payload = servers.pattern(300_000)

    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/echo"))
            src = io.BytesIO(payload)
            c.setopt(pycurl.UPLOAD, 1)
            c.setopt(pycurl.CUSTOMREQUEST, "POST")
            c.setopt(pycurl.READFUNCTION, src.read)
            c.setopt(pycurl.INFILESIZE, len(payload))
            await multi.perform(c)
            assert c.getinfo(pycurl.RESPONSE_CODE) == 200
            c.close()

    run(main())
    req = server.requests_for("/echo")[-1]
    assert req.method == "POST"
    assert req.body == payload


def test_large_download(server):
    n = 8 * 1024 * 1024

    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url(f"/bytes?n={n}"))
            await multi.perform(c)
            body = body_of(c)
            c.close()
            return body

    body = run(main())
    assert len(body) == n
    assert body == servers.pattern(n)


# ---------------------------------------------------------------------------
# concurrency


def test_fifty_concurrent_transfers(server):
    count, delay = 50, 0.5

    async def main():
        ticks = 0
        stop = False

        async def ticker():
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.ensure_future(ticker())
        async with AsyncCurlMulti() as multi:
            handles = [make(server.url(f"/slow?delay={delay}&i={i}")) for i in range(count)]
            for c in handles:
                multi.add_handle(c)
            futs = multi.futures()
            assert len(futs) == count
            assert futs == multi.futures(handles)
            start = time.monotonic()
            results = await asyncio.gather(*futs)
            elapsed = time.monotonic() - start
            stop = True
            await tick_task
            assert multi.futures() == ()
        assert [r is c for r, c in zip(results, handles)] == [True] * count
        for c in handles:
            assert c.getinfo(pycurl.RESPONSE_CODE) == 200
            assert body_of(c) == servers.HELLO
            c.close()
        # 50 transfers of 0.5 s each would need 25 s one after another.
        assert elapsed < 8, elapsed
        # The loop kept running other tasks while the transfers were waiting.
        assert ticks >= 10, ticks

    before = len(server.requests_for("/slow"))
    run(main())
    assert len(server.requests_for("/slow")) - before == count


def test_concurrent_bodies_do_not_mix(server):
    sizes = [0, 1, 17, 1000, 65_536, 100_001, 250_000, 1_000_000]

    async def main():
        async with AsyncCurlMulti() as multi:
            handles = [make(server.url(f"/bytes?n={n}")) for n in sizes]
            results = await asyncio.gather(*(multi.perform(c) for c in handles))
            assert list(results) == handles
            bodies = [body_of(c) for c in handles]
            for c in handles:
                c.close()
            return bodies

    bodies = run(main())
    for n, body in zip(sizes, bodies):
        assert body == servers.pattern(n)


def test_idle_wait_does_not_spin(server):
    """While the only transfer waits on a silent server the process sleeps:
    nothing polls."""

    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/slow?delay=1.5"))
            cpu = time.process_time()
            await multi.perform(c)
            used = time.process_time() - cpu
            c.close()
            return used

    used = run(main())
    assert used < 0.5, used


def test_multi_option_passes_through(server):
    """M_MAX_TOTAL_CONNECTIONS reaches the multi handle: six slow transfers
    limited to two connections take three rounds."""

    async def main():
        async with AsyncCurlMulti() as multi:
            multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, 2)
            handles = [make(server.url(f"/slow?delay=0.4&j={i}")) for i in range(6)]
            start = time.monotonic()
            await asyncio.gather(*(multi.perform(c) for c in handles))
            elapsed = time.monotonic() - start
            for c in handles:
                assert c.getinfo(pycurl.RESPONSE_CODE) == 200
                c.close()
            return elapsed

    elapsed = run(main())
    assert elapsed >= 1.1, elapsed


# ---------------------------------------------------------------------------
# errors


def test_connection_refused_rejects_future(refused_port):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(f"http://127.0.0.1:{refused_port}/")
            fut = multi.add_handle(c)
            with pytest.raises(pycurl.error) as info:
                await fut
            assert multi.futures() == ()
            c.close()
            return info.value, fut

    err, fut = run(main())
    assert type(err) is pycurl.error
    assert isinstance(fut.exception(), pycurl.error)
    code, msg = err.args
    assert code == pycurl.E_COULDNT_CONNECT == 7
    assert isinstance(msg, str) and msg


@pytest.mark.parametrize(
    "path, opts, code",
    [
        ("/status/404", {"FAILONERROR": 1}, 22),
        ("/slow?delay=3", {"TIMEOUT_MS": 200}, 28),
        ("/hello", {"URL": ""}, 3),
    ],
)
def test_transfer_errors(server, path, opts, code):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url(path), **opts)
            with pytest.raises(pycurl.error) as info:
                await multi.perform(c)
            c.close()
            return info.value

    err = run(main())
    assert err.args[0] == code
    assert isinstance(err.args[1], str)


def test_no_url_rejects_future_not_add_handle():
    async def main():
        async with AsyncCurlMulti() as multi:
            c = pycurl.Curl()
            fut = multi.add_handle(c)
            with pytest.raises(pycurl.error) as info:
                await fut
            c.close()
            return info.value

    err = run(main())
    assert err.args[0] == pycurl.E_URL_MALFORMAT


def test_write_callback_failure(server):
    def refuse(data):
        return 0  # fewer bytes than given: the transfer must stop

    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/hello"))
            c.setopt(pycurl.WRITEFUNCTION, refuse)
            with pytest.raises(pycurl.error) as info:
                await multi.perform(c)
            c.close()
            return info.value

    assert run(main()).args[0] == pycurl.E_WRITE_ERROR


def test_failures_do_not_disturb_other_transfers(server, refused_port):
    async def main():
        async with AsyncCurlMulti() as multi:
            good = [make(server.url(f"/bytes?n={1000 + i}")) for i in range(5)]
            bad = [make(f"http://127.0.0.1:{refused_port}/x{i}") for i in range(5)]
            order = [h for pair in zip(good, bad) for h in pair]
            for c in order:
                multi.add_handle(c)
            results = await asyncio.gather(*multi.futures(), return_exceptions=True)
            for c, r in zip(order, results):
                if c in good:
                    assert r is c
                else:
                    assert isinstance(r, pycurl.error)
                    assert r.args[0] == 7
            for i, c in enumerate(good):
                assert body_of(c) == servers.pattern(1000 + i)
            for c in order:
                c.close()

    run(main())


# ---------------------------------------------------------------------------
# removal and cancellation


def test_remove_handle_mid_flight(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            slow = make(server.url("/slow?delay=3"))
            other = make(server.url("/slow?delay=0.3"))
            fut = multi.add_handle(slow)
            other_fut = multi.add_handle(other)
            await asyncio.sleep(0.1)
            assert multi.remove_handle(slow) is None
            assert fut.cancelled()
            assert multi.futures() == (other_fut,)
            with pytest.raises(asyncio.CancelledError):
                await fut
            with pytest.raises(RuntimeError, match="^Curl handle is not registered$"):
                multi.remove_handle(slow)
            # the other transfer is unaffected
            assert await other_fut is other
            assert body_of(other) == servers.HELLO
            # the removed handle can be used again
            slow.setopt(pycurl.URL, server.url("/hello"))
            assert await multi.perform(slow) is slow
            assert slow.getinfo(pycurl.RESPONSE_CODE) == 200
            slow.close()
            other.close()

    run(main())


def test_remove_handle_errors():
    async def main():
        async with AsyncCurlMulti() as multi:
            c = pycurl.Curl()
            with pytest.raises(RuntimeError, match="^Curl handle is not registered$"):
                multi.remove_handle(c)
            c.close()

    run(main())


def test_remove_after_completion_is_an_error(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/hello"))
            await multi.perform(c)
            with pytest.raises(RuntimeError, match="^Curl handle is not registered$"):
                multi.remove_handle(c)
            c.close()

    run(main())


def test_cancelling_the_future_detaches_on_next_tick(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/slow?delay=3"))
            fut = multi.add_handle(c)
            await asyncio.sleep(0.05)
            fut.cancel()
            # still listed until the loop has run the future's callbacks
            assert multi.futures() == (fut,)
            with pytest.raises(RuntimeError, match="^Curl handle is already registered$"):
                multi.add_handle(c)
            await asyncio.sleep(0)
            assert multi.futures() == ()
            c.setopt(pycurl.URL, server.url("/hello"))
            assert await multi.perform(c) is c
            assert body_of(c) == servers.HELLO
            c.close()

    run(main())


def test_cancelling_the_awaiting_task(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/slow?delay=3"))
            task = asyncio.ensure_future(multi.perform(c))
            await asyncio.sleep(0.1)
            assert len(multi.futures()) == 1
            start = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - start < 1
            assert multi.futures() == ()
            c.setopt(pycurl.URL, server.url("/hello"))
            assert await multi.perform(c) is c
            c.close()

    run(main())


def test_wait_for_timeout_cancels_transfer(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/slow?delay=3"))
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(multi.perform(c), 0.2)
            assert multi.futures() == ()
            c.close()

    run(main())


# ---------------------------------------------------------------------------
# aclose / async with / closed


def test_aclose_cancels_pending_futures(server):
    async def main():
        multi = AsyncCurlMulti()
        handles = [make(server.url(f"/slow?delay=3&k={i}")) for i in range(5)]
        futs = [multi.add_handle(c) for c in handles]
        await asyncio.sleep(0.1)
        assert multi.closed is False
        start = time.monotonic()
        assert await multi.aclose() is None
        assert time.monotonic() - start < 1
        assert multi.closed is True
        assert all(f.cancelled() for f in futs)
        assert multi.futures() == ()
        # idempotent
        await multi.aclose()
        assert multi.closed is True
        with pytest.raises(RuntimeError, match="^AsyncCurlMulti is closed$"):
            multi.add_handle(pycurl.Curl())
        with pytest.raises(RuntimeError, match="^AsyncCurlMulti is closed$"):
            multi.remove_handle(handles[0])
        with pytest.raises(RuntimeError, match="^AsyncCurlMulti is closed$"):
            await multi.perform(handles[0])
        with pytest.raises(pycurl.error):
            multi.setopt(pycurl.M_MAXCONNECTS, 5)
        # the easy handles were detached, not closed: they still work
        for c in handles:
            c.setopt(pycurl.URL, server.url("/hello"))
        async with AsyncCurlMulti() as again:
            await asyncio.gather(*(again.perform(c) for c in handles))
        for c in handles:
            assert c.getinfo(pycurl.RESPONSE_CODE) == 200
            c.close()

    run(main())


def test_aclose_a_gathering_task_sees_cancellation(server):
    async def main():
        multi = AsyncCurlMulti()
        handles = [make(server.url(f"/slow?delay=3&g={i}")) for i in range(3)]
        for c in handles:
            multi.add_handle(c)
        waiter = asyncio.ensure_future(asyncio.gather(*multi.futures()))
        await asyncio.sleep(0.1)
        await multi.aclose()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        for c in handles:
            c.close()

    run(main())


def test_async_with_closes_and_propagates():
    async def main():
        with pytest.raises(KeyError):
            async with AsyncCurlMulti() as multi:
                assert isinstance(multi, AsyncCurlMulti)
                assert not multi.closed
                raise KeyError("boom")
        assert multi.closed
        async with AsyncCurlMulti() as m2:
            pass
        assert m2.closed

    run(main())


def test_aclose_without_ever_adding():
    m = AsyncCurlMulti()
    assert m.closed is False
    asyncio.run(m.aclose())
    assert m.closed is True


def test_close_handles_flag_accepted(server):
    async def main():
        async with AsyncCurlMulti(close_handles=True) as multi:
            c = make(server.url("/hello"))
            await multi.perform(c)
            assert c.getinfo(pycurl.RESPONSE_CODE) == 200
        c.close()

    run(main())


def test_constructor_arguments():
    AsyncCurlMulti()
    AsyncCurlMulti(False)
    AsyncCurlMulti(close_handles=True)
    with pytest.raises(TypeError):
        AsyncCurlMulti(True, True)
    with pytest.raises(TypeError):
        AsyncCurlMulti(bogus=1)


@pytest.mark.parametrize("flag", [1, 0, "yes", None])
def test_close_handles_takes_any_truth_value(server, flag):
    """Like CurlMulti(close_handles=...), the flag is read for its truth value."""

    async def main():
        async with AsyncCurlMulti(flag) as multi:
            c = make(server.url("/hello"))
            await multi.perform(c)
        c.close()

    run(main())


# ---------------------------------------------------------------------------
# setopt


@pytest.mark.parametrize("name", ["M_SOCKETFUNCTION", "M_TIMERFUNCTION", "M_NOTIFYFUNCTION"])
@pytest.mark.parametrize("value", [lambda *a: 0, None])
def test_setopt_refuses_owned_options(name, value):
    m = AsyncCurlMulti()
    with pytest.raises(ValueError) as info:
        m.setopt(getattr(pycurl, name), value)
    assert info.type is ValueError
    assert info.value.args == (OWNED_MESSAGE,)
    asyncio.run(m.aclose())
    # still refused once closed
    with pytest.raises(ValueError, match=OWNED_MESSAGE):
        m.setopt(getattr(pycurl, name), value)


def test_setopt_refusal_keeps_transfers_working(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            with pytest.raises(ValueError):
                multi.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: 0)
            with pytest.raises(ValueError):
                multi.setopt(pycurl.M_TIMERFUNCTION, lambda *a: 0)
            c = make(server.url("/hello"))
            await multi.perform(c)
            assert body_of(c) == servers.HELLO
            c.close()

    run(main())


def test_setopt_passes_other_options_through():
    m = AsyncCurlMulti()
    assert m.setopt(pycurl.M_MAXCONNECTS, 5) is None
    assert m.setopt(pycurl.M_MAX_HOST_CONNECTIONS, 3) is None
    assert m.setopt(pycurl.M_PIPELINING, 2) is None
    with pytest.raises(TypeError):
        m.setopt(pycurl.M_MAXCONNECTS, "five")
    asyncio.run(m.aclose())


# ---------------------------------------------------------------------------
# add_handle rules, loop binding, futures()


def test_add_handle_needs_running_loop():
    m = AsyncCurlMulti()
    c = pycurl.Curl()
    with pytest.raises(RuntimeError, match="no running event loop"):
        m.add_handle(c)
    assert m.futures() == ()
    c.close()


def test_add_handle_twice_is_an_error(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/slow?delay=0.2"))
            fut = multi.add_handle(c)
            with pytest.raises(RuntimeError, match="^Curl handle is already registered$"):
                multi.add_handle(c)
            assert multi.futures() == (fut,)
            await fut
            c.close()

    run(main())


def test_add_handle_rejects_bad_handles(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            with pytest.raises(TypeError):
                multi.add_handle(5)
            closed = pycurl.Curl()
            closed.close()
            with pytest.raises(pycurl.error):
                multi.add_handle(closed)
            # a handle busy in another multi handle
            other = pycurl.CurlMulti()
            busy = make(server.url("/hello"))
            other.add_handle(busy)
            with pytest.raises(pycurl.error):
                multi.add_handle(busy)
            assert multi.futures() == ()
            other.remove_handle(busy)
            other.close()
            # ... or in another AsyncCurlMulti
            async with AsyncCurlMulti() as second:
                busy.setopt(pycurl.URL, server.url("/slow?delay=0.3"))
                fut = second.add_handle(busy)
                with pytest.raises(pycurl.error):
                    multi.add_handle(busy)
                assert multi.futures() == ()
                assert await fut is busy
            # and once free it can be added here
            assert await multi.perform(busy) is busy
            busy.close()

    run(main())


def test_bound_to_first_loop(server):
    multi = AsyncCurlMulti()

    async def first():
        c = make(server.url("/hello"))
        await multi.perform(c)
        return c

    c = run(first())

    async def second():
        with pytest.raises(RuntimeError, match="^AsyncCurlMulti is bound to a different event loop$"):
            multi.add_handle(c)
        assert multi.futures() == ()
        await multi.aclose()

    run(second())
    assert multi.closed
    c.close()


def test_futures_snapshot_and_lookup(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            a = make(server.url("/slow?delay=0.3&n=a"))
            b = make(server.url("/slow?delay=0.3&n=b"))
            c = make(server.url("/slow?delay=0.3&n=c"))
            fa, fb, fc = (multi.add_handle(h) for h in (a, b, c))
            snap = multi.futures()
            assert isinstance(snap, tuple)
            assert snap == (fa, fb, fc)
            assert multi.futures([c, a]) == (fc, fa)
            dup = multi.futures(iter([b, b]))
            assert dup == (fb, fb) and dup[0] is dup[1]
            assert multi.futures([]) == ()
            stranger = pycurl.Curl()
            with pytest.raises(KeyError) as info:
                multi.futures([a, stranger])
            assert info.value.args == (stranger,)
            with pytest.raises(TypeError):
                multi.futures(5)
            multi.remove_handle(b)
            assert multi.futures() == (fa, fc)
            await asyncio.gather(fa, fc)
            assert snap == (fa, fb, fc)  # the snapshot itself is unchanged
            assert multi.futures() == ()
            with pytest.raises(KeyError):
                multi.futures([a])
            for h in (a, b, c, stranger):
                h.close()

    run(main())


# ---------------------------------------------------------------------------
# reuse


def test_reuse_handle_and_multi_after_completion(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = pycurl.Curl()
            for i in range(5):
                body = io.BytesIO()
                c.setopt(pycurl.URL, server.url(f"/bytes?n={100 * (i + 1)}"))
                c.setopt(pycurl.WRITEFUNCTION, body.write)
                assert await multi.perform(c) is c
                assert body.getvalue() == servers.pattern(100 * (i + 1))
            # a second batch after the first drained
            for round_ in range(3):
                handles = [make(server.url(f"/bytes?n={200 + i}")) for i in range(10)]
                for h in handles:
                    multi.add_handle(h)
                await asyncio.gather(*multi.futures())
                for i, h in enumerate(handles):
                    assert body_of(h) == servers.pattern(200 + i)
                    h.close()
            c.close()

    run(main())


def test_readd_from_done_callback(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            c = make(server.url("/hello"))
            second = asyncio.get_running_loop().create_future()

            def again(fut):
                second.set_result(multi.add_handle(c))

            multi.add_handle(c).add_done_callback(again)
            fut2 = await second
            assert await fut2 is c
            assert body_of(c) == servers.HELLO * 2
            c.close()

    run(main())


def test_many_sequential_transfers(server):
    async def main():
        async with AsyncCurlMulti() as multi:
            for i in range(100):
                c = make(server.url(f"/bytes?n={i}"))
                await multi.perform(c)
                assert body_of(c) == servers.pattern(i)
                c.close()

    run(main())
