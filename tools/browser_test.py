#!/usr/bin/env python3
"""Use the course in JupyterLab in a real (headless) Chromium, as a learner would: what `make test-browser` runs.

    python tools/browser_test.py                      # what `make test-browser` runs
    python tools/browser_test.py --chromium /opt/chromium/chrome --out /tmp/shots

It starts JupyterLab the way `make lab` does (tools/lab.py: loopback, a token) on *copies* of the exercise
notebooks in a temporary folder (`notebooks/` is never touched), with COURSE_FAST=1 in the server's
environment, and drives Debian's Chromium through Playwright's Python package (no browser download):

1. the tour (00) and the latent-space chapter (05): Run -> Run All Cells, then no cell may hold an error
   output (the saved copy is read back), and the browser console may show no error other than images
   that cannot load offline (the Colab/Binder badges);
2. the tour's first exercise: a wrong answer, then a right one, typed into the cell; the verdict shown on
   the page must read "Incorrect", then "Correct";
3. chapter 05's latent explorer: drag the z[1] slider; its readout and the decoded image on the page must change.

Screenshots go to artifacts/browser/ (git-ignored), with report.json. Exit status 0 when everything
passed, 1 when a check failed, 2 when Chromium or Playwright is missing (the message says what to do).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import lab
from nbcommon import NOTEBOOKS, REPO_ROOT

TOUR, CHAPTER_05 = "00_setup_and_tour.ipynb", "05_latent_space.ipynb"
WRONG_ANSWER = '''def to_tanh_range(pixels):
    """uint8 pixels 0..255 -> float32 in [-1, 1]."""
    return pixels / 255.0


ex.q1.check(to_tanh_range)
'''
RIGHT_ANSWER = '''def to_tanh_range(pixels):
    """uint8 pixels 0..255 -> float32 in [-1, 1]."""
    return pixels.astype("float32") / 127.5 - 1.0


ex.q1.check(to_tanh_range)
'''
# JupyterLab settings for the test's own (temporary) settings folder: every cell stays in the page, so
# outputs can be read, and JupyterLab does not try to fetch news from the internet.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


class CheckFailed(Exception):
    """A learner-visible check failed; the message says which and what was seen."""


def _missing(message: str):
    """Something the test needs is not installed: say what to do, exit with status 2."""
    print(message, file=sys.stderr)
    raise SystemExit(2)


def find_chromium(explicit: str | None) -> str:
    """The system Chromium: --chromium, $COURSE_CHROMIUM, or `chromium` on PATH; a clear SystemExit otherwise."""
    wanted = explicit or os.environ.get("COURSE_CHROMIUM")
    if wanted:
        path = shutil.which(wanted) or (wanted if os.access(wanted, os.X_OK) and Path(wanted).is_file() else None)
        looked = wanted
    else:
        path = next((found for name in CHROMIUM_CANDIDATES if (found := shutil.which(name))), None)
        looked = " or ".join(CHROMIUM_CANDIDATES) + " on PATH"
    if not path:
        _missing(
            f"browser test: Chromium not found (looked for {looked}).\n"
            "  Install Debian's Chromium: sudo apt-get install chromium   (on Ubuntu: a chromium package or snap)\n"
            "  or point the test at a Chromium/Chrome binary: --chromium PATH or COURSE_CHROMIUM=PATH.\n"
            "  Playwright's own browser download is not used.")
    return path


def import_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing(
            "browser test: Playwright's Python package is missing from this Python "
            f"({sys.executable}).\n  `make test-browser` installs it (requirements-browser.txt into .venv); by hand:\n"
            f"  {sys.executable} -m pip install -r requirements-browser.txt\n"
            "  No browser download is needed: the test drives the system Chromium.")
    return sync_playwright


def tree_digest(folder: Path) -> str:
    """sha256 over the names and bytes of a folder's notebooks: proves the learner's copies were not touched."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.ipynb")):
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()


def prepare_workspace(root: Path) -> Path:
    """Copy the two exercise notebooks and write JupyterLab's settings into a temporary folder."""
    (root / "notebooks").mkdir()
    for name in (TOUR, CHAPTER_05):
        shutil.copy2(NOTEBOOKS / name, root / "notebooks" / name)
    for relative, values in LAB_SETTINGS.items():
        path = root / "lab-settings" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    (root / "lab-workspaces").mkdir()
    return root


def start_server(workspace: Path, port: int, token: str, log):
    """`make lab`'s command line (tools/lab.py), serving the temporary copies, in fast mode."""
    command = [arg for arg in lab.server_command(port, open_browser=False, token=token)
               if not arg.startswith(("--ServerApp.root_dir=", "--LabApp.default_url="))]
    command.append(f"--ServerApp.root_dir={workspace}")
    env = dict(os.environ, COURSE_FAST="1", JUPYTERLAB_SETTINGS_DIR=str(workspace / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(workspace / "lab-workspaces"))
    env.pop("COURSE_REQUIRE_CORRECT", None)  # a learner's wrong answer must show a verdict, not stop the cell
    server = subprocess.Popen(command, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"JupyterLab exited early (status {server.returncode}); see its log {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5):
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise CheckFailed(f"JupyterLab did not answer on 127.0.0.1:{port} within 120 s; see {log.name}")


def console_watch(page, problems: list[str], ignored: list[str], port: int):
    """Collect browser console errors; failed loads of off-machine images (badges) are only noted."""
    local = (f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")

    def on_console(message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        text = f"{message.text} [{url}]" if url else message.text
        if message.text.startswith("Failed to load resource") and url and not url.startswith(local):
            ignored.append(text)
        else:
            problems.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught page error: {error}"))
    page.on("requestfailed", lambda request: None if request.url.startswith(local) else ignored.append(
        f"offline, not loaded: {request.url}"))


def open_notebook(page, base: str, token: str, name: str) -> str:
    """Open a notebook by its URL, make its tab the current one; return a CSS selector for its panel."""
    page.goto(f"{base}/lab/tree/notebooks/{name}?token={token}")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name).first
    tab.wait_for(timeout=120_000)
    tab.click()  # the menus act on the current notebook
    panel = page.locator(".jp-NotebookPanel:visible").filter(has=page.locator(".jp-CodeCell")).first
    panel.wait_for(timeout=120_000)
    selector = f'.jp-NotebookPanel[id="{panel.get_attribute("id")}"]'
    wait_kernel_idle(page, base, token, timeout=180)
    return selector


def wait_kernel_idle(page, base: str, token: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as response:
            sessions = json.load(response)
        if sessions and all(s["kernel"]["execution_state"] == "idle" for s in sessions):
            return
        page.wait_for_timeout(500)
    raise CheckFailed(f"the kernel did not become idle within {timeout:.0f} s")


PROMPTS_JS = """panel => Array.from(document.querySelectorAll(panel + ' .jp-CodeCell'))
                 .map(cell => (cell.querySelector('.jp-InputPrompt') || {}).textContent || '')"""


def kernel_restarts(log_path: Path) -> int:
    """How many times the server has restarted a dead kernel so far (read from its log)."""
    return log_path.read_text(errors="replace").count("restarting kernel")


def run_all(page, panel: str, name: str, timeout: float, log_path: Path, shots: Path) -> tuple[float, list[int]]:
    """Run -> Run All Cells from the menu; wait until no cell is queued or running.

    Returns the seconds it took and the code cells (counted from 0) that did not run."""
    start, restarts = time.monotonic(), kernel_restarts(log_path)
    # Focus this notebook (the menu acts on the notebook that has focus), as a learner clicks into it first.
    page.locator(f"{panel} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel").get_by_text(
        "Run All Cells", exact=True).click()
    deadline = start + timeout
    while time.monotonic() < deadline:
        prompts = page.evaluate(PROMPTS_JS, panel)
        if prompts and not any("*" in p for p in prompts) and any(any(c.isdigit() for c in p) for p in prompts):
            page.wait_for_timeout(1000)  # a last output may still be rendering
            if not any("*" in p for p in page.evaluate(PROMPTS_JS, panel)):
                break
        if kernel_restarts(log_path) > restarts:
            page.screenshot(path=str(shots / f"{name[:2]}_kernel_died.png"))
            raise CheckFailed(f"{name}: the kernel died during Run All Cells after {time.monotonic() - start:.0f} s "
                              f"(prompts {_summary(prompts)}); see the JupyterLab log {log_path}")
        page.wait_for_timeout(1000)
    else:
        page.screenshot(path=str(shots / f"{name[:2]}_timed_out.png"))
        raise CheckFailed(f"{name}: Run All Cells did not finish within {timeout:.0f} s (prompts {_summary(prompts)})")
    prompts = page.evaluate(PROMPTS_JS, panel)
    return time.monotonic() - start, [i for i, p in enumerate(prompts) if not any(c.isdigit() for c in p)]


def _summary(prompts: list[str]) -> str:
    done = sum(any(c.isdigit() for c in p) for p in prompts)
    return f"{done} of {len(prompts)} code cells run, {sum('*' in p for p in prompts)} queued or running"


def save_and_read_errors(page, panel: str, path: Path) -> list[str]:
    """Save the notebook from the page (Ctrl+S), read the saved copy, and list its error outputs."""
    before = path.stat().st_mtime_ns
    page.locator(f"{panel} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    if path.stat().st_mtime_ns == before:
        raise CheckFailed(f"{path.name}: Ctrl+S did not save the notebook within 30 s")
    notebook = json.loads(path.read_text())
    errors = []
    for number, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {number}: {output.get('ename')}: {output.get('evalue')}")
    return errors


def set_cell_and_run(page, cell, source: str) -> str:
    """Replace a cell's code as a learner would (select all, type), run it in place, return its output text."""
    prompt = cell.locator(".jp-InputPrompt").inner_text()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    page.keyboard.press("Control+Enter")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = cell.locator(".jp-InputPrompt").inner_text()
        if now != prompt and "*" not in now:
            break
        page.wait_for_timeout(300)
    else:
        raise CheckFailed("the edited check cell did not finish within 120 s")
    page.wait_for_timeout(500)
    return cell.locator(".jp-OutputArea").inner_text()


def check_verdicts(page, panel: str, shots: Path, report: dict):
    cell = page.locator(f"{panel} .jp-CodeCell").filter(has_text="def to_tanh_range")
    cell = cell.first
    cell.scroll_into_view_if_needed()
    wrong = set_cell_and_run(page, cell, WRONG_ANSWER)
    cell.screenshot(path=str(shots / "00_check_wrong_answer.png"))
    right = set_cell_and_run(page, cell, RIGHT_ANSWER)
    cell.screenshot(path=str(shots / "00_check_right_answer.png"))
    report["verdicts"] = {"wrong answer (pixels / 255.0)": wrong.strip(),
                          "right answer (pixels / 127.5 - 1)": right.strip()}
    if "Incorrect" not in wrong:
        raise CheckFailed(f"a wrong answer was not called Incorrect on the page; the cell showed: {wrong!r}")
    if "Correct" not in right or "Incorrect" in right or "Not attempted" in right:
        raise CheckFailed(f"a right answer was not called Correct on the page; the cell showed: {right!r}")


def _grey_difference(png_a: bytes, png_b: bytes) -> tuple[float, int]:
    """Mean and largest change of grey level (0-255) between two screenshots of the image element."""
    import io

    import numpy as np
    from PIL import Image

    a, b = (np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.int16) for data in (png_a, png_b))
    if a.shape != b.shape:
        return float("inf"), 255
    change = np.abs(a - b)
    return float(change.mean()), int(change.max())


def check_explorer(page, panel: str, shots: Path, report: dict):
    slider = page.locator(f"{panel} .widget-slider").filter(
        has=page.locator(".widget-label", has_text="z[1]")).first
    try:
        slider.wait_for(timeout=60_000)
    except Exception as err:
        raise CheckFailed("chapter 05: no latent explorer slider labelled z[1] on the page "
                          "(did the widget render? is jupyterlab_widgets installed?)") from err
    z1 = page.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text="z[1]"))
    explorer = page.locator(f"{panel} .jp-CodeCell").filter(has=z1).first.locator(".jp-OutputArea")
    image = explorer.locator("img").first
    explorer.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    readout = slider.locator(".widget-readout")
    z_label = explorer.locator(".widget-label", has_text="z = [").first  # written by the kernel's redraw()
    before = {"readout": readout.inner_text(), "label": z_label.inner_text(), "src": image.get_attribute("src"),
              "png": image.screenshot(path=str(shots / "05_explorer_image_before.png"))}
    explorer.screenshot(path=str(shots / "05_explorer_before.png"))
    handle = slider.locator(".noUi-handle").first
    box = handle.bounding_box()
    track = slider.locator(".noUi-base, .noUi-target").first.bounding_box()
    x0, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    x1 = min(track["x"] + track["width"] - 2, x0 + 0.3 * track["width"])
    page.mouse.move(x0, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * step / 10, y)
        page.wait_for_timeout(50)
    page.mouse.up()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and image.get_attribute("src") == before["src"]:
        page.wait_for_timeout(300)
    page.wait_for_timeout(1000)  # let the last redraw arrive
    after = {"readout": readout.inner_text(), "label": z_label.inner_text(), "src": image.get_attribute("src"),
             "png": image.screenshot(path=str(shots / "05_explorer_image_after.png"))}
    explorer.screenshot(path=str(shots / "05_explorer_after.png"))
    difference = _grey_difference(before["png"], after["png"])
    report["explorer"] = {"slider": "z[1]", "readout_before": before["readout"], "readout_after": after["readout"],
                          "label_before": before["label"], "label_after": after["label"],
                          "image_bytes_equal": before["png"] == after["png"],
                          "grey_levels_changed_mean": round(difference[0], 2), "grey_levels_changed_max": difference[1],
                          "image_sha256_before": hashlib.sha256(before["png"]).hexdigest()[:16],
                          "image_sha256_after": hashlib.sha256(after["png"]).hexdigest()[:16]}
    if before["readout"] == after["readout"]:
        raise CheckFailed(f"chapter 05: dragging the z[1] slider did not move it (readout {before['readout']})")
    if before["label"] == after["label"]:
        raise CheckFailed(f"chapter 05: z[1] moved, but the kernel did not redraw (label still {after['label']!r})")
    if before["src"] == after["src"] or before["png"] == after["png"] or difference[1] == 0:
        raise CheckFailed(f"chapter 05: z[1] moved from {before['readout']} to {after['readout']}, "
                          "but the decoded image on the page did not change")


def notebooks_in_browser(page, base: str, token: str, workspace: Path, shots: Path, report: dict, timeout: float):
    """The learner's session: each notebook run in full, then its interactive check."""
    for name in (TOUR, CHAPTER_05):
        stem = name[:2]
        panel = open_notebook(page, base, token, name)
        seconds, not_run = run_all(page, panel, name, timeout, workspace / "jupyterlab.log", shots)
        report["timings_s"][f"{stem} run all"] = round(seconds, 1)
        page.screenshot(path=str(shots / f"{stem}_after_run_all.png"))
        errors = save_and_read_errors(page, panel, workspace / "notebooks" / name)
        if errors or not_run:
            raise CheckFailed(f"{name}: after Run All Cells, error outputs: {errors or 'none'}; "
                              f"code cells that did not run: {not_run or 'none'}")
        print(f"browser test: {name}: Run All Cells finished in {seconds:.0f} s, no error output")
        if name == TOUR:
            check_verdicts(page, panel, shots, report)
            print("browser test: the check cell says Incorrect to a wrong answer and Correct to a right one")
        else:
            check_explorer(page, panel, shots, report)
            e = report["explorer"]
            print(f"browser test: explorer z[1] {e['readout_before']} -> {e['readout_after']}: the image changed "
                  f"(grey levels: mean {e['grey_levels_changed_mean']}, max {e['grey_levels_changed_max']})")
        wait_kernel_idle(page, base, token, timeout=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chromium", help="Chromium/Chrome binary (default: $COURSE_CHROMIUM, else `chromium`)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "browser",
                        help="folder for screenshots and report.json (default: artifacts/browser, git-ignored)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed for each Run All (default 600)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (notebook copies, server log)")
    args = parser.parse_args(argv)

    chromium = find_chromium(args.chromium)
    sync_playwright = import_playwright()
    shots = args.out.resolve()
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    learner_digest = tree_digest(NOTEBOOKS)
    workspace = prepare_workspace(Path(tempfile.mkdtemp(prefix="course-browser-")))
    port, token = lab.free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    problems, ignored = [], []
    report: dict = {"chromium": chromium, "workspace": str(workspace), "timings_s": {}}
    started = time.monotonic()
    status = 0
    log = open(workspace / "jupyterlab.log", "w")  # noqa: SIM115 (closed in finally)
    server = None
    try:
        server = start_server(workspace, port, token, log)
        report["timings_s"]["server_start"] = round(time.monotonic() - started, 1)
        import importlib.metadata as metadata

        report["versions"] = {name: metadata.version(name) for name in
                              ("jupyterlab", "ipywidgets", "jupyterlab_widgets", "playwright")}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                 args=["--no-sandbox"] if os.geteuid() == 0 else [])
            report["versions"]["chromium"] = browser.version
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            console_watch(page, problems, ignored, port)
            try:
                notebooks_in_browser(page, base, token, workspace, shots, report, args.timeout)
            except Exception:
                page.screenshot(path=str(shots / "failure.png"))
                raise
            browser.close()
        if problems:
            raise CheckFailed("browser console errors:\n  " + "\n  ".join(problems))
    except CheckFailed as err:
        print(f"browser test FAILED: {err}", file=sys.stderr)
        status = 1
    except Exception as err:  # Playwright timeouts and the like: the page did not look as expected
        print(f"browser test FAILED: {type(err).__name__}: {str(err)[:1500]}", file=sys.stderr)
        status = 1
    finally:
        report["console_errors"], report["ignored_offline"] = problems, sorted(set(ignored))
        report["timings_s"]["total"] = round(time.monotonic() - started, 1)
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        if tree_digest(NOTEBOOKS) != learner_digest:
            print("browser test FAILED: notebooks/ changed during the run (it must only use copies)", file=sys.stderr)
            status = 1
        (shots / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        if args.keep or status:
            print(f"browser test: notebook copies and the JupyterLab log are in {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)
    print(f"browser test: {'passed' if status == 0 else 'FAILED'} in {report['timings_s']['total']:.0f} s; "
          f"screenshots and report.json in {shots}")
    return status


if __name__ == "__main__":
    sys.exit(main())
