"""Every shown solution (`ex.qN.solution()`) must work when pasted into its exercise notebook.

A learner who prints a solution pastes it into the exercise cell in place of the stub. For each exercise this
test rebuilds what that learner's notebook holds at that point, pastes the solution text, runs the cell and
asserts the checker says correct. So a solution that uses names the notebook does not define (a helper, an
import, an attribute the class skeleton lacks, `discriminator_loss` where only `gan` was imported), or a
different signature than the skeleton, fails here.

What "the notebook holds" is built cheaply, without running the chapter (no data, no training): from every
earlier code cell its imports, its function and class definitions and its literal UPPER_CASE constants
(`LATENT_DIM = 100`); earlier exercise cells with *their* shown solutions pasted (a learner who used them).
A solution that needs anything else the notebook computed (a dataset, a trained model) fails here too; such an
exercise would have to be listed in NOT_PASTEABLE with the reason.

Pasting: when the solution defines the function (or method) that holds the stub, it replaces that whole
definition, at the definition's indentation; otherwise it replaces the stub line, at the stub's indentation.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("keras")
pytest.importorskip("tensorflow")

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO_ROOT / "notebooks"
STUB = 'raise NotImplementedError("Exercise: replace this line with your code")'
HEADER = re.compile(r"(?:async\s+)?(?:def|class) (\w+)\b")  # at the start of a (stripped) line
CHECK = re.compile(r"\bex\.(q\d+)\.check\(\s*([A-Za-z_]\w*)\s*\)")

# Exercises whose shown solution is not code to paste into a cell (give the reason). None at present.
NOT_PASTEABLE: dict[tuple[str, str], str] = {}


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _chapters() -> list[str]:
    return sorted(p.stem[2:] for p in (REPO_ROOT / "utils" / "exercises").glob("ch[0-9][0-9].py"))


def _notebook(chapter: str) -> Path:
    (path,) = NOTEBOOKS.glob(f"{chapter}_*.ipynb")
    return path


def _exercise_cells(cells: list[str]) -> dict[int, tuple[str, str]]:
    """{index of a cell holding a stub: (exercise name 'qN', name of the answer passed to its check)}.

    The check call is in the stub's cell or in the next code cell (chapters 08 and 09). Stubs graded by
    something else (chapter 08's quiz, `QUIZ.grade(my_answers)`) are not exercises of utils.exercises."""
    found = {}
    for i, cell in enumerate(cells):
        if STUB not in cell:
            continue
        match = CHECK.search(cell) or (CHECK.search(cells[i + 1]) if i + 1 < len(cells) else None)
        if match:
            found[i] = (match.group(1), match.group(2))
    return found


def _cases():
    for chapter in _chapters():
        module = importlib.import_module(f"utils.exercises.ch{chapter}")
        if not list(NOTEBOOKS.glob(f"{chapter}_*.ipynb")):  # a chapter whose notebook is being written
            yield pytest.param(chapter, None, None, id=f"ch{chapter}",
                               marks=pytest.mark.skip(reason=f"no notebooks/{chapter}_*.ipynb yet"))
            continue
        cells = _code_cells(_notebook(chapter))
        covered = {name: index for index, (name, _) in _exercise_cells(cells).items()}
        for name in sorted((n for n in vars(module) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:])):
            marks = ()
            if (chapter, name) in NOT_PASTEABLE:
                marks = pytest.mark.skip(reason=NOT_PASTEABLE[chapter, name])
            yield pytest.param(chapter, name, covered.get(name), id=f"ch{chapter}-{name}", marks=marks)


def _solution_lines(text: str) -> list[str]:
    """The solution as lines at indentation 0. Exercise() strips the text, which drops the first line's
    indentation: a method's `def` then reads at 0 while its body stays at 8; put the `def` back first."""
    lines = text.strip("\n").splitlines()
    rest = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    if lines and re.match(r"(async\s+)?def |class ", lines[0]) and rest and min(rest) > 4:
        lines[0] = " " * (min(rest) - 4) + lines[0]
    return textwrap.dedent("\n".join(lines)).splitlines()


def paste(skeleton: str, solution: str) -> str:
    """The exercise cell with `solution` pasted in place of its stub."""
    lines = skeleton.splitlines()
    (stub_at,) = [i for i, line in enumerate(lines) if line.strip() == STUB]
    solution_lines = _solution_lines(solution)
    defined = {m.group(1) for line in solution_lines if (m := HEADER.match(line))}  # top-level def/class names

    def indent_of(line):
        return len(line) - len(line.lstrip())

    first, last, indent = stub_at, stub_at, indent_of(lines[stub_at])  # default: replace the stub line
    level = indent
    for i in range(stub_at - 1, -1, -1):  # the definitions around the stub, innermost first
        if not lines[i].strip() or indent_of(lines[i]) >= level:
            continue
        level = indent_of(lines[i])
        match = HEADER.match(lines[i].lstrip())
        if match and match.group(1) in defined:  # the solution rewrites this whole definition
            first, last, indent = i, stub_at, level
            while last + 1 < len(lines) and (not lines[last + 1].strip() or indent_of(lines[last + 1]) > level):
                last += 1
            while last > stub_at and not lines[last].strip():
                last -= 1
            break
    block = [" " * indent + line if line.strip() else "" for line in solution_lines]
    return "\n".join(lines[:first] + block + lines[last + 1:])


def _is_check_call(node: ast.stmt) -> bool:
    """A top-level statement that uses the exercise module (`ex.q1.check(f)`, `wrong = ex.q1.check(...)`)."""
    return any(isinstance(n, ast.Name) and n.id == "ex" for n in ast.walk(node)) and not isinstance(
        node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))


def _is_constant(node: ast.stmt) -> bool:
    if not isinstance(node, ast.Assign):
        return False
    names = [n for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if not names or not all(n.id.isupper() for n in names):
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


def _run(source: str, namespace: dict, keep) -> None:
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if keep(node)]
    exec(compile(tree, "<notebook cell>", "exec"), namespace)  # noqa: S102 - our own notebooks and solutions


def _setup_only(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) or _is_constant(node)


def notebook_state(chapter: str, upto: int) -> dict:
    """The namespace a learner's notebook has before code cell `upto`, built without running the chapter."""
    module = importlib.import_module(f"utils.exercises.ch{chapter}")
    cells = _code_cells(_notebook(chapter))
    exercises = _exercise_cells(cells)
    namespace: dict = {"__name__": "__main__"}
    for index, cell in enumerate(cells[:upto]):
        if index in exercises:
            pasted = paste(cell, getattr(module, exercises[index][0])._solution)
            _run(pasted, namespace, lambda node: not _is_check_call(node))
        else:
            _run(cell, namespace, _setup_only)
    return namespace


def _signatures(source: str) -> dict[str, list[str]]:
    """{function name: its parameter names}, for every function the source defines (methods included)."""
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            found[node.name] = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs] + [
                f"*{p.arg}" for p in (a.vararg, a.kwarg) if p]
    return found


@pytest.mark.parametrize("chapter, name, cell", list(_cases()))
def test_shown_solution_completes_the_exercise_cell(chapter, name, cell):
    assert cell is not None, f"ch{chapter} {name}: no exercise cell in {_notebook(chapter).name} checks it"
    module = importlib.import_module(f"utils.exercises.ch{chapter}")
    exercise = getattr(module, name)
    cells = _code_cells(_notebook(chapter))
    answer_name = _exercise_cells(cells)[cell][1]
    skeleton = _signatures(cells[cell])
    shown = _signatures("\n".join(_solution_lines(exercise._solution)))
    for function in skeleton.keys() & shown.keys():
        assert shown[function] == skeleton[function], (
            f"the solution's {function}({', '.join(shown[function])}) differs from the notebook's "
            f"{function}({', '.join(skeleton[function])})")
    namespace = notebook_state(chapter, cell)
    source = paste(cells[cell], exercise._solution)
    _run(source, namespace, lambda node: not _is_check_call(node))
    assert answer_name in namespace, f"the pasted cell does not define {answer_name!r}:\n{source}"
    outcome = exercise.evaluate(namespace[answer_name])
    assert outcome.status == "correct", f"{outcome.message}\n--- pasted cell ---\n{source}"


def test_paste_replaces_the_definition_or_the_stub():
    skeleton = f"class M:\n    def f(self, x):\n        {STUB}\n\n\ncheck(M)"
    method = "def f(self, x):\n        return x + 1"  # how Exercise() stores a method: first line stripped
    assert paste(skeleton, method) == "class M:\n    def f(self, x):\n        return x + 1\n\n\ncheck(M)"
    assert paste(skeleton, "return x + 1") == "class M:\n    def f(self, x):\n        return x + 1\n\n\ncheck(M)"
    skeleton = f"def g(a):\n    {STUB}\n"
    assert paste(skeleton, "import numpy as np\n\ndef g(a):\n    return np.abs(a)") == (
        "import numpy as np\n\ndef g(a):\n    return np.abs(a)")
