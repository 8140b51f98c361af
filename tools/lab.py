#!/usr/bin/env python3
"""Start JupyterLab on the course: loopback only, a free port, the tour notebook open.

    python tools/lab.py               # what `make lab` runs
    python tools/lab.py --no-browser  # print the URL instead of opening a browser
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys

from nbcommon import REPO_ROOT

FIRST_NOTEBOOK = "notebooks/00_setup_and_tour.ipynb"


def free_port() -> int:
    """Ask the OS for a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(port: int, open_browser: bool = True, token: str | None = None) -> list[str]:
    """The JupyterLab command line `make lab` uses (tests start the server with the same one)."""
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={REPO_ROOT}",
    ]
    if token is not None:
        command.append(f"--IdentityProvider.token={token}")
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and cloud VMs often run as root; Jupyter refuses without it
    if (REPO_ROOT / FIRST_NOTEBOOK).exists():
        command.append(f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}")
    return command


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    args = parser.parse_args(argv)
    command = server_command(args.port or free_port(), open_browser=not args.no_browser)
    print("Starting JupyterLab (Ctrl-C to stop):", " ".join(command[3:]))
    return subprocess.call(command, cwd=REPO_ROOT, env=os.environ.copy())


if __name__ == "__main__":
    sys.exit(main())
