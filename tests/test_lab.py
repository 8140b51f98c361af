"""`make lab`'s server starts on loopback, serves the course notebooks over its HTTP API, and stops."""

import json
import subprocess
import time
import urllib.request

import lab


def test_jupyter_server_lists_course_notebooks():
    port, token = lab.free_port(), "course-test-token"
    command = lab.server_command(port, open_browser=False, token=token)
    assert "--ip=127.0.0.1" in command and "--no-browser" in command
    server = subprocess.Popen(command, cwd=lab.REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        listing = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and listing is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/notebooks?token={token}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    listing = json.load(response)
            except OSError:
                assert server.poll() is None, "the Jupyter server exited early"
                time.sleep(0.5)
        assert listing is not None, "the Jupyter server did not answer within 90 s"
        names = {item["name"] for item in listing["content"]}
        assert "00_setup_and_tour.ipynb" in names
        assert all(name.endswith(".ipynb") for name in names)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode is not None
