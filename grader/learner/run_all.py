"""Keep Run All going in a notebook: a cell that used an unwritten function stops quietly.

IPython aborts Run All at the first error, so on a starter the check() cell was never reached.
Once ``load()`` has run in a kernel, each cell is wrapped so that an exception raised after a
call returned "not written yet" (a placeholder the rest of the cell cannot use) ends that cell
with one line instead of a traceback; any other error shows as usual.
"""

from __future__ import annotations

import ast
from typing import Any

LAST = "__grader_last__"
EXC = "__grader_exc__"
_state = {"unwritten": 0, "installed": 0}
_pending: set[str] = set()  # names assigned by cells that met an unwritten function


def note_unwritten() -> None:
    """Called when a learner function raised NotImplementedError in the running cell."""
    _state["unwritten"] += 1


def _reset(*_: Any) -> None:
    _state["unwritten"] = 0


def assigned(names: tuple[str, ...]) -> None:
    """A cell ran to its end: what it assigned is real, unless it called an unwritten function."""
    if _state["unwritten"]:
        from grader.learner.live_module import LiveModule

        namespace = _user_namespace()
        _pending.update(n for n in names if not isinstance(namespace.get(n), LiveModule))
    else:
        _pending.difference_update(names)


def quiet_end(exc: BaseException, names: tuple[str, ...] = (),
              stored: tuple[str, ...] = ()) -> None:
    """Swallow ``exc`` when it comes from unwritten work; re-raise anything else."""
    why = _unwritten_cause(exc, names)
    if why is None:
        raise exc
    _pending.update(stored)
    print(why)


def _unwritten_cause(exc: BaseException, names: tuple[str, ...]) -> str | None:
    """Why ``exc`` is only a consequence of a function not written yet, or None."""
    from grader.learner.live_module import NotWritten

    if not isinstance(exc, Exception):
        return None
    if isinstance(exc, NotImplementedError):
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        name = where.tb_frame.f_code.co_name if where is not None else "a function"
        owner = where.tb_frame.f_locals.get("self") if where is not None else None
        if owner is not None:
            name = f"{type(owner).__name__}.{name}"
        return (f"not written yet: {name}() still raises NotImplementedError. Write it, save "
                "the file, and run this cell again.")
    if _state["unwritten"]:
        return f"(the rest of this cell needs that function: skipped, {type(exc).__name__})"
    namespace = _user_namespace()
    waiting = [n for n in names if isinstance(namespace.get(n), NotWritten)]
    waiting += [n for n in names if n in _pending and n not in waiting]
    if isinstance(exc, NameError) and getattr(exc, "name", None) in _pending:
        waiting.append(str(getattr(exc, "name", "")))
    if not waiting and "NotWritten" not in str(exc):
        return None
    what = ", ".join(dict.fromkeys(waiting)) or "a result"
    return (f"(skipped: this cell uses {what}, which came from a function not written yet; "
            f"{type(exc).__name__})")


def _user_namespace() -> dict[str, Any]:
    from IPython import get_ipython

    shell = get_ipython()
    return dict(shell.user_ns) if shell is not None else {}


class _WrapCell(ast.NodeTransformer):
    """``body; expr`` -> ``try: body; LAST = expr / except: quiet_end(e); LAST = None`` + LAST."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        body = list(node.body)
        if not body:
            return node
        last = body[-1]
        shown = isinstance(last, ast.Expr)
        if shown:
            assert isinstance(last, ast.Expr)
            body[-1] = ast.Assign(targets=[ast.Name(LAST, ast.Store())], value=last.value)
        else:
            body.append(ast.Assign(targets=[ast.Name(LAST, ast.Store())],
                                   value=ast.Constant(None)))
        names = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                        and isinstance(n.ctx, ast.Load)})
        stored = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store)})
        module = ast.Call(ast.Name("__import__", ast.Load()), [ast.Constant(__name__)],
                          [ast.keyword("fromlist", ast.Tuple([ast.Constant("x")], ast.Load()))])

        def call(function: str, *args: ast.expr) -> ast.Expr:
            return ast.Expr(ast.Call(ast.Attribute(module, function, ast.Load()), list(args), []))

        def strings(items: list[str]) -> ast.Tuple:
            return ast.Tuple([ast.Constant(n) for n in items], ast.Load())

        body.append(call("assigned", strings(stored)))
        handler = ast.ExceptHandler(
            type=ast.Name("BaseException", ast.Load()), name=EXC,
            body=[call("quiet_end", ast.Name(EXC, ast.Load()), strings(names), strings(stored)),
                  ast.Assign(targets=[ast.Name(LAST, ast.Store())], value=ast.Constant(None))])
        wrapped: list[ast.stmt] = [ast.Try(body=body, handlers=[handler], orelse=[],
                                           finalbody=[])]
        if shown:
            wrapped.append(ast.Expr(ast.Name(LAST, ast.Load())))
        node.body = wrapped
        return ast.fix_missing_locations(node)


def install() -> None:
    """Wrap every later cell of the running IPython kernel (once; nothing outside IPython)."""
    if _state["installed"]:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.ast_transformers.append(_WrapCell())
    shell.events.register("pre_run_cell", _reset)
    _state["installed"] = 1
