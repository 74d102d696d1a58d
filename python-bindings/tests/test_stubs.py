"""The .pyi stubs of the private native module describe exactly what the built module has."""

import ast
import inspect
from pathlib import Path

import phalanx
from phalanx import _native

STUB = Path(phalanx.__file__).with_name("_native.pyi")


def _stub():
    tree = ast.parse(STUB.read_text())
    classes, functions = {}, {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {
                f.name: [a.arg for a in f.args.args] for f in node.body if isinstance(f, ast.FunctionDef)
            }
        elif isinstance(node, ast.FunctionDef):
            functions[node.name] = [a.arg for a in node.args.args]
    return classes, functions


def _public(obj):
    own = {k for k in vars(obj) if not k.startswith("__") or k in ("__len__", "__arrow_c_array__", "__reduce__", "__init__")}
    return {k for k in own if k not in ("__doc__", "__module__", "__new__")}


def test_every_native_class_and_function_is_stubbed():
    classes, functions = _stub()
    native_classes = {k for k, v in vars(_native).items() if inspect.isclass(v)}
    native_functions = {k for k, v in vars(_native).items() if callable(v) and not inspect.isclass(v)}
    assert native_classes == set(classes)
    assert native_functions == set(functions)


def test_members_match():
    classes, _ = _stub()
    for name, members in classes.items():
        cls = getattr(_native, name)
        native = _public(cls) - {"__init__"}
        stubbed = set(members) - {"__init__"}
        assert native == stubbed, name
        if "__init__" in members:
            assert [p for p in inspect.signature(cls).parameters] == members["__init__"][1:]


def test_function_signatures_match():
    _, functions = _stub()
    for name, params in functions.items():
        assert list(inspect.signature(getattr(_native, name)).parameters) == params, name
    classes, _ = _stub()
    for cname, members in classes.items():
        cls = getattr(_native, cname)
        for m, params in members.items():
            attr = inspect.getattr_static(cls, m)
            if isinstance(attr, staticmethod) or type(attr).__name__ == "builtin_function_or_method":
                assert list(inspect.signature(getattr(cls, m)).parameters) == params, f"{cname}.{m}"
