"""PUT with UPLOAD + READFUNCTION: size arguments seen, with and without INFILESIZE (chunked),
READDATA file object, return types (str, bytearray, memoryview)."""
import io

from _common import Obs, getinfos, perform, pycurl, request_head, server, url

o = Obs()
srv = server()


def put(name, chunks, infilesize=None, readdata=None, path="/echo"):
    c = pycurl.Curl()
    out = io.BytesIO()
    sizes = []
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.UPLOAD, 1)
    c.setopt(pycurl.WRITEDATA, out)
    if readdata is not None:
        c.setopt(pycurl.READDATA, readdata)
    else:
        it = iter(chunks)

        def rf(size):
            sizes.append(size)
            return next(it, b"")
        c.setopt(pycurl.READFUNCTION, rf)
    if infilesize is not None:
        c.setopt(pycurl.INFILESIZE, infilesize)
    perform(c, o, f"{name}.perform")
    o[f"{name}.read_calls"] = len(sizes)
    o[f"{name}.read_size_types"] = sorted({type(s).__name__ for s in sizes})
    o[f"{name}.read_sizes_distinct"] = sorted(set(sizes))[:3]
    o[f"{name}.body"] = out.getvalue()
    req = srv.last_request()
    o[f"{name}.request_head"] = request_head(req)
    o[f"{name}.received_raw"] = req.raw_body
    o[f"{name}.info"] = getinfos(c, ["RESPONSE_CODE", "EFFECTIVE_METHOD", "SIZE_UPLOAD_T",
                                     "CONTENT_LENGTH_UPLOAD_T"])
    c.close()


put("sized", [b"hello ", b"world"], infilesize=11)
put("chunked", [b"part1-", b"part2"])
put("types", ["str-", bytearray(b"ba-"), memoryview(b"mv")], infilesize=9)
put("readdata", None, infilesize=12, readdata=io.BytesIO(b"from a file!"))
put("readdata_unsized", None, readdata=io.BytesIO(b"unsized file"))
put("empty", [], infilesize=0)
o.emit()
