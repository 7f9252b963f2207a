"""Every platform we support can install the lock (uv.lock), wheels only.

The images install from uv.lock on the CPU they run on: linux/amd64 and linux/arm64 (Apple
Silicon, ARM servers). A package with no wheel for one of them fails the image build there
("doesn't have a source distribution or wheel for the current platform"), which no amd64 build
shows. This walks the lock from the project with every extra and group, evaluating each
dependency's environment marker for the platform, and checks that every package reached has a
wheel that platform can install.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging import tags
from packaging.utils import parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]

#: PEP 508 environment of each supported image platform (CPython 3.11 on Debian bookworm, glibc 2.36).
PLATFORMS = {
    "linux/amd64": "x86_64",
    "linux/arm64": "aarch64",
}


def _environment(machine: str) -> dict[str, str]:
    return {
        "implementation_name": "cpython", "implementation_version": "3.11.2",
        "os_name": "posix", "platform_machine": machine, "platform_python_implementation": "CPython",
        "platform_release": "", "platform_system": "Linux", "platform_version": "",
        "python_full_version": "3.11.2", "python_version": "3.11", "sys_platform": "linux",
    }


def _supported_tags(machine: str) -> frozenset:
    """Wheel tags CPython 3.11 on glibc 2.36 (Debian bookworm) installs on `machine`, as pip/uv do."""
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(36, 16, -1)]
    platforms += [f"manylinux2014_{machine}"] + ([f"manylinux2010_{machine}", f"manylinux1_{machine}"]
                                                if machine == "x86_64" else [])
    return frozenset([*tags.cpython_tags((3, 11), platforms=platforms),
                      *tags.compatible_tags((3, 11), "cp311", platforms=platforms)])


def _installable(wheel_url: str, supported: frozenset) -> bool:
    _, _, _, wheel_tags = parse_wheel_filename(wheel_url.rsplit("/", 1)[-1])
    return not wheel_tags.isdisjoint(supported)


def _reached(lock: dict, machine: str) -> dict[str, dict]:
    """Packages installed on `machine`: the project with all extras and groups, then their needs."""
    packages = {p["name"]: p for p in lock["package"]}
    env = _environment(machine)

    def edges(entries):
        for dep in entries:
            if Marker(dep["marker"]).evaluate(env) if "marker" in dep else True:
                yield dep["name"], dep.get("extra", [])

    root = next(p for p in lock["package"] if p["source"].get("editable") == "." or p["source"].get("virtual") == ".")
    todo = [(root["name"], [*root.get("optional-dependencies", {}), *root.get("dev-dependencies", {})])]
    seen: dict[str, set] = {}
    while todo:
        name, extras = todo.pop()
        pkg = packages[name]
        new = set(extras) - seen.get(name, {None})
        if name in seen and not new:
            continue
        seen.setdefault(name, {None}).update(new)
        deps = list(edges(pkg.get("dependencies", [])))
        for extra in new:
            for table in ("optional-dependencies", "dev-dependencies"):
                deps += edges(pkg.get(table, {}).get(extra, []))
        todo += deps
    return {n: packages[n] for n in seen}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_locked_package_has_a_wheel_for_the_platform(platform):
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    machine = PLATFORMS[platform]
    reached = _reached(lock, machine)
    assert "numba" in reached and "streamlit" in reached and "jupyterlab" in reached, sorted(reached)
    supported = _supported_tags(machine)
    missing = sorted(name for name, pkg in reached.items()
                     if "registry" in pkg["source"]
                     and not any(_installable(w["url"], supported) for w in pkg.get("wheels", [])))
    assert not missing, (f"no {platform} wheel in uv.lock for: {', '.join(missing)}; give the dependency "
                         f"a platform marker or pick a version with {machine} wheels")
