"""The wheel ``uv build`` makes, installed into a fresh virtual environment outside the source
tree with the versions uv.lock pins, runs: ``ozbot --help``, every sub-command's ``--help``, a
scripted ``ozbot demo`` sale, and ``ozbot serve --sandbox`` serving the web chat's and the
console's pages and static files. A ``--target`` install finds its catalogs and files too (they
once went to ``<prefix>/share``).

Slow (a build and an install, ~1 minute): ``-m 'not packaging'`` leaves it out while you work;
CI runs it (``make test``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.net import free_port

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
# the README's scripted sale
SALE = "oi\n1\nR. Delminda Silveira, 900\nsim\nMaria Souza\nsim\n"

# Prints every command path of the installed `ozbot` (one JSON list a line), walking its parser.
WALK = """
import argparse, json
from bot.cli import build_parser
def walk(parser, path):
    print(json.dumps(path))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                walk(sub, path + [name])
walk(build_parser(), [])
"""


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    away: Path  # an empty working directory: no source tree, no .env

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        """Run a program of the venv in ``away`` with a clean environment; its stdout."""
        done = subprocess.run(  # noqa: S603 -- our own venv's programs, fixed arguments
            [str(self.bin / args[0]), *args[1:]],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.away,
            env=clean_env(),
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stderr[-3000:]}"
        return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """PATH and HOME only: nothing that points back at the source tree or configures ozbot."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env.update(extra)
    return env


def uv(*args: str, cwd: Path = ROOT) -> None:
    done = subprocess.run(  # noqa: S603 -- uv from this interpreter, fixed arguments
        [sys.executable, "-m", "uv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"uv {' '.join(args)}:\n{done.stdout}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    # not under pytest's own temporary directory, which only root may enter: the unprivileged
    # user the server test runs as must read the venv
    base = Path(tempfile.mkdtemp(prefix="ozbot-wheel-"))
    base.chmod(0o755)
    try:
        yield _install(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _install(base: Path) -> Installed:
    dist = base / "dist"
    uv("build", "--out-dir", str(dist))  # the sdist, then the wheel built from the sdist
    (wheel,) = dist.glob("ozbot-*.whl")
    venv = base / "venv"
    python = str(venv / "bin" / "python")
    uv("venv", "--python", sys.executable, str(venv))
    # what production installs: the run-time packages uv.lock pins, with their hashes, then
    # the wheel alone
    locked = base / "requirements.txt"
    uv("export", "--locked", "--no-dev", "--no-emit-project", "--quiet", "-o", str(locked))
    uv("pip", "install", "--python", python, "--require-hashes", "-r", str(locked))
    uv("pip", "install", "--python", python, "--no-deps", str(wheel))
    uv("pip", "check", "--python", python)  # the lock satisfies the wheel's own requirements
    away = base / "elsewhere"
    away.mkdir()
    return Installed(wheel=wheel, venv=venv, away=away)


def test_the_wheel_carries_every_file_of_the_packages(installed: Installed) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "bot", "flows"],  # noqa: S607 -- git from PATH, fixed arguments
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.split()
    assert any(name.endswith(".po") for name in tracked)
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    missing = [name for name in tracked if name not in names]
    assert missing == [], f"the wheel lacks {missing}"
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_installed_program_runs_from_its_own_files(installed: Installed) -> None:
    where = installed.run(
        "python",
        "-c",
        "import bot, flows; from bot.i18n import default_locales_dir; "
        "print(bot.__file__); print(flows.__file__); print(default_locales_dir())",
    ).split()
    site = str(installed.venv / "lib")
    assert all(path.startswith(site) for path in where), where


def test_ozbot_help_and_every_sub_commands_help(installed: Installed) -> None:
    assert "usage: ozbot" in installed.run("ozbot", "--help")
    paths = [json.loads(line) for line in installed.run("python", "-c", WALK).splitlines()]
    commands = {" ".join(path) for path in paths}
    assert {"demo", "serve", "sandbox", "ozmap find", "agents add", "settings example"} <= commands

    def help_of(path: list[str]) -> str:
        return installed.run("ozbot", *path, "--help")

    with ThreadPoolExecutor(max_workers=4) as pool:
        for path, text in zip(paths, pool.map(help_of, paths), strict=True):
            assert text.startswith("usage: ozbot"), path


def test_a_scripted_demo_sale(installed: Installed) -> None:
    out = installed.run("ozbot", "demo", stdin=SALE)
    assert "Código da reserva: OZB-" in out, out[-2000:]


# The container runs `ozbot serve` as an unprivileged user (Dockerfile: USER 10001): so does
# this test when it runs as root, as CI does
AS_NOBODY = (
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
)
# the Dockerfile's HEALTHCHECK, word for word
HEALTHCHECK = "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"


def test_ozbot_serve_sandbox_serves_pages_and_static_files(installed: Installed) -> None:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 -- our own venv's program, fixed arguments
        [*AS_NOBODY, str(installed.bin / "ozbot"), "serve", "--sandbox", "--port", str(port)],
        cwd=installed.away,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # 180 s: a fresh wheel's first start reads the NLU model and imports everything; at load
        # average 14 on the two cores a start from the tree took 20 s, in a suite over 60 s
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ozbot serve did not answer /healthz in 180 s"
            time.sleep(0.2)
        for path, needle in [
            ("/chat", "webchat.js"),
            ("/chat/static/webchat.js", "fetch"),
            ("/console/login", "<form"),
            ("/console/static/console.css", "{"),
        ]:
            response = httpx.get(url + path, timeout=10)
            assert response.status_code == 200, path
            assert needle in response.text, path
        health = HEALTHCHECK.replace(":8000/", f":{port}/")
        installed.run("python", "-c", health)  # exits 0: the container is healthy
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_target_install_finds_its_catalogs_and_files(
    installed: Installed, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    uv("pip", "install", "--no-deps", "--target", str(target), str(installed.wheel))
    probe = (
        "import bot, sys; from bot.i18n import Catalogs; from bot.resources import package_path;"
        "from bot.cli import main;"
        "print(bot.__file__);"
        "print(Catalogs.load(strict=True).translator('es')('menu.greeting') != 'menu.greeting');"
        "print(package_path('bot.web', 'static', 'webchat.js').is_file());"
        "print(package_path('bot.ozmap.sandbox', 'data', 'network.json').is_file());"
        "from bot.plans import SAMPLE, load_plan_book;"
        "print(len(load_plan_book(SAMPLE).plans) > 0)"
    )
    done = subprocess.run(  # noqa: S603 -- the venv's interpreter, fixed arguments
        [str(installed.bin / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=installed.away,
        env=clean_env(PYTHONPATH=str(target)),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    module, *found = done.stdout.split()
    assert module.startswith(str(target)), module
    assert found == ["True", "True", "True", "True"]
