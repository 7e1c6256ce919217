"""The .pyi stubs of the pycurl package agree with the live module.

The stubs are read with ``ast`` (no type checker needed) and compared with what the installed
``pycurl`` really exposes: every public name, in both directions; every public member of the
classes; property-versus-method; parameter names and kinds wherever the live object publishes
a signature; and that python/pycurl/_pycurl.pyi is what tools/gen_stubs.py currently writes.
"""

import ast
import importlib
import importlib.util
import inspect
import os
import subprocess
import sys
import types

import pytest

import pycurl
import pycurl._pycurl as native
import pycurl.async_multi as async_multi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG_DIR = os.path.dirname(os.path.abspath(pycurl.__file__))
NATIVE_STUB = os.path.join(PKG_DIR, "_pycurl.pyi")
INIT_STUB = os.path.join(PKG_DIR, "__init__.pyi")
ASYNC_STUB = os.path.join(PKG_DIR, "async_multi.pyi")

P = inspect.Parameter


def _public(names):
    return {n for n in names if not n.startswith("_")}


def _parse(path):
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), filename=path)


class Stub:
    """Top-level content of one stub file."""

    def __init__(self, path):
        self.path = path
        self.tree = _parse(path)
        self.defs = {}  # name -> FunctionDef / ClassDef / AnnAssign / Assign
        self.reexports = {}  # name -> (module, original name) for "import x as x" forms
        self.star_from = []  # modules star-imported
        self.all = None  # names assigned to __all__, or None
        self.all_added = []  # names added with "__all__ += [...]"
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defs[node.name] = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.defs[node.target.id] = node
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        if t.id == "__all__":
                            self.all = [ast.literal_eval(e) for e in node.value.elts]
                        else:
                            self.defs[t.id] = node
            elif isinstance(node, ast.AugAssign) and getattr(node.target, "id", None) == "__all__":
                self.all_added += [ast.literal_eval(e) for e in node.value.elts]
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    if alias.name == "*":
                        self.star_from.append(module)
                    elif alias.asname == alias.name:  # explicit re-export
                        self.reexports[alias.name] = (module, alias.name)

    def public_defs(self):
        return _public(self.defs)

    def cls(self, name):
        node = self.defs.get(name)
        assert isinstance(node, ast.ClassDef), f"{self.path}: no class {name}"
        return node


def _members(classdef):
    """name -> FunctionDef/AsyncFunctionDef/AnnAssign of a stub class body."""
    out = {}
    for node in classdef.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
    return out


def _is_property(node):
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list
    )


def _stub_params(fn):
    a = fn.args
    out = [(p.arg, P.POSITIONAL_ONLY) for p in a.posonlyargs]
    out += [(p.arg, P.POSITIONAL_OR_KEYWORD) for p in a.args]
    if a.vararg:
        out.append((a.vararg.arg, P.VAR_POSITIONAL))
    out += [(p.arg, P.KEYWORD_ONLY) for p in a.kwonlyargs]
    if a.kwarg:
        out.append((a.kwarg.arg, P.VAR_KEYWORD))
    return out


def _live_params(obj):
    """(name, kind) list of a live callable, or None when it publishes no usable signature
    (no __text_signature__ on a builtin, or an implementation that takes bare *args)."""
    if isinstance(obj, (types.BuiltinFunctionType, types.MethodDescriptorType,
                        types.WrapperDescriptorType)) and not getattr(obj, "__text_signature__", None):
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = [(p.name, p.kind) for p in sig.parameters.values()]
    if any(k in (P.VAR_POSITIONAL, P.VAR_KEYWORD) for _, k in params):
        return None
    return params


@pytest.fixture(scope="module")
def native_stub():
    return Stub(NATIVE_STUB)


@pytest.fixture(scope="module")
def init_stub():
    return Stub(INIT_STUB)


@pytest.fixture(scope="module")
def async_stub():
    return Stub(ASYNC_STUB)


# ---------------------------------------------------------------------------
# module level


def test_native_module_names_match(native_stub):
    live = _public(dir(native))
    stub = native_stub.public_defs()
    assert sorted(live - stub) == [], "live names missing from _pycurl.pyi"
    assert sorted(stub - live) == [], "stale names in _pycurl.pyi"


def test_native_all_matches(native_stub):
    assert native_stub.all is not None and native_stub.all_added == []
    assert len(native_stub.all) == len(set(native_stub.all))
    assert set(native_stub.all) == set(native.__all__)


def test_constant_annotations(native_stub):
    for name in _public(dir(native)):
        value = getattr(native, name)
        if type(value) not in (int, str):
            continue
        node = native_stub.defs[name]
        assert isinstance(node, ast.AnnAssign), name
        assert ast.unparse(node.annotation) == type(value).__name__, name


def test_functions_are_functions(native_stub):
    for name in _public(dir(native)):
        value = getattr(native, name)
        if isinstance(value, types.BuiltinFunctionType):
            assert isinstance(native_stub.defs[name], ast.FunctionDef), name
        elif isinstance(value, type):
            assert isinstance(native_stub.defs[name], ast.ClassDef), name


def test_function_signatures(native_stub):
    checked = 0
    for name in _public(dir(native)):
        value = getattr(native, name)
        if not isinstance(value, types.BuiltinFunctionType):
            continue
        live = _live_params(value)
        if live is None:
            continue
        assert _stub_params(native_stub.defs[name]) == live, name
        checked += 1
    assert checked >= 5


def _package_stub_names(init_stub, native_stub):
    names = set()
    for module in init_stub.star_from:
        assert module == "._pycurl", f"unexpected star import from {module}"
        names |= native_stub.public_defs()
    names |= _public(init_stub.reexports)
    names |= init_stub.public_defs()
    return names


def test_package_names_match(init_stub, native_stub):
    live = _public(dir(pycurl))
    stub = _package_stub_names(init_stub, native_stub)
    assert sorted(live - stub) == [], "live names missing from __init__.pyi"
    assert sorted(stub - live) == [], "stale names in __init__.pyi"


def test_package_reexports_resolve(init_stub, native_stub, async_stub):
    stubs = {"._pycurl": native_stub, ".async_multi": async_stub}
    for name, (module, original) in init_stub.reexports.items():
        if module == ".":  # submodule
            assert isinstance(getattr(pycurl, name), types.ModuleType), name
            continue
        if original == "__all__":
            continue
        assert original in stubs[module].defs, f"{name} re-exported from {module} but not defined there"
        source = importlib.import_module("pycurl" + module)
        assert getattr(pycurl, name) is getattr(source, original), name


def test_package_all_matches(init_stub, native_stub):
    # __init__.pyi takes __all__ from _pycurl and appends to it.
    assert init_stub.reexports.get("__all__") == ("._pycurl", "__all__")
    assert init_stub.all is None
    assert set(native_stub.all) | set(init_stub.all_added) == set(pycurl.__all__)


# ---------------------------------------------------------------------------
# classes

PROTOCOL_DUNDERS = {
    "__enter__", "__exit__", "__aenter__", "__aexit__", "__contains__", "__iter__", "__next__",
    "__len__", "__getitem__", "__setitem__", "__call__", "__bool__",
}


def _instance_attr_dunder_ok(cls, name):
    """Stub dunders that have no attribute of that name on the class."""
    return name in ("__init__", "__new__")


def _is_constant_name(name):
    return name[:1].isupper()


def _stub_instance_constants(members):
    """Stub class attributes written as "NAME: int": the module constants instances answer."""
    out = set()
    for name, node in members.items():
        if _is_constant_name(name):
            assert isinstance(node, ast.AnnAssign) and ast.unparse(node.annotation) == "int", name
            out.add(name)
    return out


def _live_instance_constants(cls):
    """Module int constants that a fresh instance answers although the class does not."""
    inst = cls()
    try:
        return {
            n for n in _public(dir(native))
            if type(getattr(native, n)) is int and not hasattr(cls, n)
            and getattr(inst, n, None) == getattr(native, n)
        }
    finally:
        inst.close()


CLASS_CASES = [
    ("Curl", native.Curl, NATIVE_STUB),
    ("CurlMulti", native.CurlMulti, NATIVE_STUB),
    ("AsyncCurlMulti", async_multi.AsyncCurlMulti, ASYNC_STUB),
]


@pytest.mark.parametrize("name,cls,path", CLASS_CASES, ids=[c[0] for c in CLASS_CASES])
def test_class_public_members_match(name, cls, path):
    members = _members(Stub(path).cls(name))
    live = _public(dir(cls))
    stub = _public(members) - _stub_instance_constants(members)
    assert sorted(live - stub) == [], f"{name}: live members missing from the stub"
    assert sorted(stub - live) == [], f"{name}: stale members in the stub"


@pytest.mark.parametrize("name,cls,path", CLASS_CASES, ids=[c[0] for c in CLASS_CASES])
def test_class_special_methods(name, cls, path):
    members = _members(Stub(path).cls(name))
    for dunder in (n for n in members if n.startswith("__")):
        assert dunder in vars(cls) or _instance_attr_dunder_ok(cls, dunder), \
            f"{name}.{dunder} is in the stub but not at runtime"
    for dunder in PROTOCOL_DUNDERS & set(vars(cls)):
        assert dunder in members, f"{name}.{dunder} exists at runtime but not in the stub"


@pytest.mark.parametrize("name,cls,path", CLASS_CASES, ids=[c[0] for c in CLASS_CASES])
def test_no_catch_all_getattr(name, cls, path):
    # A "__getattr__ -> int" would type every misspelled attribute (and every method) as int.
    assert "__getattr__" not in _members(Stub(path).cls(name))


@pytest.mark.parametrize("name,cls", [("Curl", native.Curl), ("CurlMulti", native.CurlMulti)])
def test_instance_constants_match(name, cls, native_stub):
    # c.URL / m.M_MAXCONNECTS work at runtime as in real pycurl; the stub lists each such name,
    # and stubtest cannot check them (it looks at the class, which does not have them).
    stub = _stub_instance_constants(_members(native_stub.cls(name)))
    live = _live_instance_constants(cls)
    assert sorted(live - stub) == [], f"{name}: constants instances answer, missing from the stub"
    assert sorted(stub - live) == [], f"{name}: stub constants that instances do not answer"
    assert len(live) > 20


@pytest.mark.parametrize("name,cls,path", CLASS_CASES, ids=[c[0] for c in CLASS_CASES])
def test_class_member_kinds_and_signatures(name, cls, path):
    members = _members(Stub(path).cls(name))
    for member in _public(members) - _stub_instance_constants(members):
        node = members[member]
        static = inspect.getattr_static(cls, member)
        live_is_property = isinstance(
            static, (property, types.GetSetDescriptorType, types.MemberDescriptorType))
        assert _is_property(node) == live_is_property, f"{name}.{member}: property vs method"
        if live_is_property:
            continue
        live_fn = getattr(cls, member)
        assert isinstance(node, ast.AsyncFunctionDef) == inspect.iscoroutinefunction(live_fn), \
            f"{name}.{member}: async vs sync"
        live = _live_params(live_fn)
        if live is None:
            continue
        # Drop self: the live descriptor reports it positional-only, stubs write it plainly.
        assert _stub_params(node)[1:] == live[1:], f"{name}.{member}: parameters differ"


def test_async_constructor_signature(async_stub):
    node = _members(async_stub.cls("AsyncCurlMulti"))["__init__"]
    assert _stub_params(node) == _live_params(async_multi.AsyncCurlMulti.__init__)


def test_sockaddr_fields(native_stub):
    node = native_stub.cls("CurlSockAddr")
    assert [ast.unparse(b) for b in node.bases] == ["NamedTuple"]
    assert tuple(_members(node)) == native.CurlSockAddr._fields


def test_error_class(native_stub):
    node = native_stub.cls("error")
    assert [ast.unparse(b) for b in node.bases] == [b.__name__ for b in native.error.__bases__]


def test_async_module_names(async_stub):
    live = _public(dir(async_multi)) & set(async_multi.__all__)
    assert async_stub.all == async_multi.__all__
    assert async_stub.all_added == []
    assert live <= async_stub.public_defs()
    # Everything the stub defines publicly is a real attribute of the module.
    for name in async_stub.public_defs():
        assert hasattr(async_multi, name), name


# ---------------------------------------------------------------------------
# generator


def _generator():
    """tools/gen_stubs.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("gen_stubs", os.path.join(ROOT, "tools", "gen_stubs.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def test_generated_stub_is_current():
    gen = _generator()
    with open(NATIVE_STUB, encoding="utf-8") as f:
        current = f.read()
    assert gen.render(native) == current, "python/pycurl/_pycurl.pyi is stale: run tools/gen_stubs.py"


def test_stubs_parse_as_python_3_9_syntax():
    # Stubs are read by type checkers for every supported Python; keep them parseable.
    for path in (NATIVE_STUB, INIT_STUB, ASYNC_STUB):
        with open(path, encoding="utf-8") as f:
            ast.parse(f.read(), filename=path, feature_version=(3, 9))


# ---------------------------------------------------------------------------
# mypy --strict on user code

TYPING_DIR = os.path.join(ROOT, "tests", "typing")


def _mypy_strict(path, cache_dir, python_version="3.11"):
    cmd = [sys.executable, "-m", "mypy", "--strict", "--python-version", python_version,
           "--cache-dir", str(cache_dir), "--no-error-summary", "--show-error-codes", path]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    return out.returncode, out.stdout.splitlines()


@pytest.mark.parametrize("python_version", ["3.10", "3.13"])  # mypy 2 targets 3.10+
def test_mypy_strict_user_program_is_clean(tmp_path, python_version):
    # easy, multi perform/select, socket_action callbacks, AsyncCurlMulti, module functions.
    code, lines = _mypy_strict(os.path.join(TYPING_DIR, "user_program.py"), tmp_path, python_version)
    assert lines == [] and code == 0


def test_mypy_strict_catches_mistakes(tmp_path):
    code, lines = _mypy_strict(os.path.join(TYPING_DIR, "misspelled.py"), tmp_path)
    found = {(int(line.split(":")[1]), line.rsplit("[", 1)[1].rstrip("]")) for line in lines}
    assert found == {
        (7, "attr-defined"),  # c.URLL
        (8, "attr-defined"),  # pycurl.WRITEDAT
        (9, "attr-defined"),  # c.perfrom()
        (10, "assignment"),  # perform_rs() -> str
        (11, "arg-type"),  # setopt("URL", ...)
        (13, "arg-type"),  # add_handle("not a handle")
    }, lines
    assert code == 1
