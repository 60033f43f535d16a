"""The README's production recipe, checked as far as this machine allows: the systemd unit with
`systemd-analyze verify`, the container image's files read (there is no Docker daemon here to
build it), the compose file and proxy names, and the unit/proxy ports agreeing."""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "dealfinder.service"


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    """The unit as committed, with ExecStart pointed at this machine's `dealfinder` (verify
    checks that the program exists); any warning (an unknown key, a bad value) fails."""
    here = Path(sys.executable).with_name("dealfinder")
    assert here.exists()
    text = UNIT.read_text(encoding="utf-8")
    assert "/opt/dealfinder/.venv/bin/dealfinder" in text
    copy = tmp_path / "dealfinder.service"
    copy.write_text(text.replace("/opt/dealfinder/.venv/bin/dealfinder", str(here)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr.strip()) == (0, "")


def test_the_unit_runs_serve_http_behind_the_proxy():
    exec_start = re.search(r"^ExecStart=(.+)$", UNIT.read_text(), re.M)
    assert exec_start is not None
    args = shlex.split(exec_start[1])
    assert args[1:3] == ["serve", "--http"]
    host, port = args[args.index("--host") + 1], args[args.index("--port") + 1]
    assert host == "127.0.0.1"  # only the proxy reaches it
    caddy = (DEPLOY / "Caddyfile").read_text()
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert f"reverse_proxy {host}:{port}" in caddy
    assert f"proxy_pass http://{host}:{port};" in nginx


def test_the_image_installs_the_package_as_ci_does_and_serves_http():
    steps = _dockerfile()
    runs = " ".join(args for op, args in steps if op == "RUN")
    ci = (ROOT / ".ci" / "run").read_text()
    # .ci/run: a venv, pip upgraded, then the project installed with pip (here: not editable
    # and without the dev extras, which only the tests need).
    assert "python3 -m venv .venv" in ci and 'pip install --quiet -e ".[dev]"' in ci
    assert "python -m venv /opt/dealfinder/.venv" in runs
    assert "/opt/dealfinder/.venv/bin/python -m pip install --quiet --upgrade pip" in runs
    assert "/opt/dealfinder/.venv/bin/python -m pip install --quiet ." in runs
    # Every package pyproject ships is copied into the image, and nothing else is needed.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {args.split()[0] for op, args in steps if op == "COPY"}
    assert copied == {"pyproject.toml", *(name.rstrip("*") for name in include)}
    [base] = [args for op, args in steps if op == "FROM"]
    assert base.startswith("python:3.11")  # requires-python >= 3.11, as CI's python3
    [entry] = [args for op, args in steps if op == "ENTRYPOINT"]
    [cmd] = [args for op, args in steps if op == "CMD"]
    command = [*yaml.safe_load(entry), *yaml.safe_load(cmd)]
    assert command[:3] == ["dealfinder", "serve", "--http"]
    port = command[command.index("--port") + 1]
    assert ("EXPOSE", port) in steps
    [health] = [args for op, args in steps if op == "HEALTHCHECK"]
    assert f"http://127.0.0.1:{port}/healthz" in health


def test_a_non_editable_install_carries_every_file_of_the_packages():
    """What `pip install .` in the image ships: setuptools' own package discovery (namespace
    packages included, as pyproject's find does) and its package-data patterns must cover every
    tracked file, or the image would lack a migration, a rules file or a mapping that an
    editable install (the tests') still finds. The real build: `pip wheel --no-deps .`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools_cfg = project["tool"]["setuptools"]
    include = setuptools_cfg["packages"]["find"]["include"]
    packages = set(find_namespace_packages(str(ROOT), include=include))
    patterns = setuptools_cfg["package-data"]["*"]
    tracked = subprocess.run(
        ["git", "ls-files", "--", *(p.rstrip("*") for p in include)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(tracked) > 100
    left_out = [
        path
        for path in tracked
        if ".".join(Path(path).parent.parts) not in packages
        or not (path.endswith(".py") or any(fnmatch.fnmatch(Path(path).name, p) for p in patterns))
    ]
    assert left_out == []


def test_the_compose_recipe_runs_the_image_on_postgresql_behind_caddy():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    app = services["dealfinder"]
    assert (DEPLOY / app["build"] / "Dockerfile").exists()
    url = app["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    mount = services["caddy"]["volumes"][0].split(":")[0]
    assert "reverse_proxy dealfinder:3000" in (DEPLOY / mount).read_text()
    assert "3000" in [str(port) for port in app["expose"]]


def test_the_readme_names_each_deploy_file_and_the_commands_it_says_were_checked():
    readme = (ROOT / "README.md").read_text()
    for name in ("deploy/dealfinder.service", "Dockerfile", "deploy/docker-compose.yml",
                 "deploy/Caddyfile", "deploy/nginx.conf"):  # fmt: skip
        assert f"`{name}`" in readme
        assert (ROOT / name).exists()
    assert shutil.which("systemd-analyze")


def test_ci_services_does_what_the_readme_warns_of():
    """The README warns that `.ci/services` changes a machine; the script does these things."""
    script = (ROOT / ".ci" / "services").read_text()
    assert re.search(r"need_apt\+=\(postgresql\)", script)
    assert re.search(r"need_apt\+=\(redis-server\)", script)
    assert re.search(r"need_apt\+=\(chromium\)", script)
    assert 'apt-get install -y -qq "${need_apt[@]}"' in script
    assert r"127\.0\.0\.1\/32\s+)\S+/\1trust/" in script  # pg_hba.conf: local TCP -> trust
    assert "create database test" in script
    assert '--save "" --appendonly no' in script  # Redis without persistence
    readme = (ROOT / "README.md").read_text()
    assert "Do not run it on a production host" in readme
