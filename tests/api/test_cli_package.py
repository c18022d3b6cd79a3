"""The `farmtrace` command's package (api/cli/): every module that registers subcommands is wired into
the parser, and every subcommand it registers can run.

Adding a subcommand is a module with `register(sub)` plus one line in `parser.COMMANDS`; a forgotten
line would make the commands silently absent, and a subparser without `func` would fail only when
someone runs it. These tests catch both.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import pytest

from farmtrace.api import cli
from farmtrace.api.cli import parser


def _modules_with_register() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(cli.__path__):
        if info.name.startswith("__"):
            continue
        module = importlib.import_module(f"{cli.__name__}.{info.name}")
        if callable(getattr(module, "register", None)):
            names.append(module.__name__)
    return sorted(names)


def _leaves(p: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (command words, parser) that takes no further subcommand."""
    subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, p
        return
    for action in subs:
        for name, child in action.choices.items():
            yield from _leaves(child, (*path, name))


def test_every_module_that_registers_commands_is_in_the_parser() -> None:
    wired = sorted(m.__name__ for m in parser.COMMANDS)
    assert _modules_with_register() == wired, "add the module to parser.COMMANDS (one line)"


def test_no_module_is_registered_twice() -> None:
    assert len(set(parser.COMMANDS)) == len(parser.COMMANDS)


LEAVES = sorted(path for path, _ in _leaves(parser.build_parser()))


def test_the_parser_has_the_documented_commands() -> None:
    """The usage in parser.py's docstring and the parser agree on the top-level commands."""
    documented = {
        line.split()[1] for line in (parser.__doc__ or "").splitlines() if line.startswith("    farmtrace ")
    }
    assert documented == {path[0] for path in LEAVES}


@pytest.mark.parametrize("path", LEAVES, ids=[" ".join(p) for p in LEAVES])
def test_every_subcommand_has_a_function_and_help(path: tuple[str, ...], capsys) -> None:
    leaf = dict(_leaves(parser.build_parser()))[path]
    func = leaf.get_default("func")
    assert callable(func) and func.__name__.startswith("cmd_"), f"{' '.join(path)} has no cmd_ function"
    with pytest.raises(SystemExit) as done:
        parser.main([*path, "--help"])
    assert done.value.code == 0
    assert "usage: farmtrace " + " ".join(path) in capsys.readouterr().out


def test_the_package_docstring_lists_every_module() -> None:
    """api/cli/__init__.py's list is where a newcomer looks for a command: it names every module."""
    listed = {line.split()[0] for line in (cli.__doc__ or "").splitlines() if line.startswith("    ")}
    modules = {f"{i.name}.py" for i in pkgutil.iter_modules(cli.__path__) if not i.name.startswith("__")}
    assert modules <= listed, f"add to api/cli/__init__.py's list: {sorted(modules - listed)}"
