"""`import pycurl` stays light: asyncio (and the thousands of objects every gc.collect() then walks)
is imported only when AsyncCurlMulti is first used; Curl objects add the same number of
GC-tracked objects."""
import gc
import subprocess
import sys

from _common import Obs, pycurl

o = Obs()
code = "import sys, pycurl; print('asyncio' in sys.modules)"
o["import.asyncio_loaded"] = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                            text=True, check=True).stdout.strip()
gc.collect()
gc.disable()
before = len(gc.get_objects())
handles = []
for _ in range(100):
    c = pycurl.Curl()
    handles.append(c)
o["curl.tracked_per_handle"] = (len(gc.get_objects()) - before) / 100
gc.enable()
o["curl.is_tracked"] = gc.is_tracked(handles[0])
o["async.usable"] = hasattr(pycurl, "AsyncCurlMulti") and callable(pycurl.AsyncCurlMulti)
o.emit()
