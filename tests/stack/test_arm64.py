"""linux/arm64 (Apple Silicon, ARM servers): images built, run and published with amd64.

On this amd64 host arm64 runs under QEMU user emulation (binfmt_misc; scripts/enable-emulation.sh),
so these tests show that the stack builds and computes the same results on arm64, not how fast it
is there. One module-scoped release does the expensive part once: ``scripts/publish.sh`` builds the
production images for both platforms from a git checkout and pushes one image index per service to
a registry on loopback; the arm64 tests then run images pulled back from it by digest.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time

import pytest

from utils.commands import run
from utils.paths import ROOT, VERSION
from utils.project import project
from utils.git import GIT_ENV, commit_all
from utils.registry import Registry

pytestmark = [pytest.mark.e2e, pytest.mark.root]

SERVICES = ("streamlit", "jupyter", "docs", "proxy", "balancer")
PLATFORMS = ("linux/amd64", "linux/arm64")


def _inspect_raw(ref: str) -> dict:
    return json.loads(run(["docker", "buildx", "imagetools", "inspect", "--raw", ref]).stdout)


def _platform_digests(ref: str) -> dict[str, str]:
    index = _inspect_raw(ref)
    assert index["mediaType"] in ("application/vnd.oci.image.index.v1+json",
                                  "application/vnd.docker.distribution.manifest.list.v2+json"), index
    return {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in index["manifests"]}


@pytest.fixture(scope="module")
def release(docker_engine, python_image, arm64_python_image, scratch):
    """scripts/publish.sh --platform linux/amd64,linux/arm64 from a fresh git checkout."""
    local = []
    # also when publish fails: no images, registry or scratch copy left behind
    with project(scratch, python_image, "release") as p:
        try:
            sha = commit_all(p.dir)
            with Registry() as reg:
                repo = f"{reg.host}/fractal-{p.name}"
                local += [f"{repo}/{s}:{VERSION}-{sha}-prod{suffix}" for s in (*SERVICES, "base")
                          for suffix in ("", "-amd64", "-arm64")]
                env = {**GIT_ENV, "REGISTRY": repo, "PYTHON_IMAGE_AMD64": python_image,
                       "PYTHON_IMAGE_ARM64": arm64_python_image,
                       "HOST_UID": p.env["HOST_UID"], "HOST_GID": p.env["HOST_GID"]}
                t0 = time.monotonic()
                out = run(["bash", str(p.dir / "scripts" / "publish.sh"), "--platform", ",".join(PLATFORMS)],
                          cwd=p.dir, env=env, timeout=3600)
                print(f"\npublish.sh for {', '.join(PLATFORMS)}: {time.monotonic() - t0:.0f} s\n{out.stdout}")
                yield {"registry": reg, "repo": repo, "sha": sha, "stdout": out.stdout, "project": p}
        finally:  # the published images, before project()'s cleanup
            if local:
                run(["docker", "image", "rm", "-f", *local], check=False)


def test_publish_refuses_what_it_cannot_tag_honestly(new_project):
    """No REGISTRY, not a git checkout, a dirty checkout, a bad platform: a clear error, nothing built."""
    p = new_project("publish-bad")
    script = ["bash", str(p.dir / "scripts" / "publish.sh")]
    env = GIT_ENV
    cases = [({}, [], "set REGISTRY"),
             ({"REGISTRY": "127.0.0.1:1/x"}, [], "not a git checkout: set GIT_SHA"),
             ({"REGISTRY": "127.0.0.1:1/x", "GIT_SHA": "abc"}, ["--platform", "linux/s390x"],
              "unsupported platform 'linux/s390x'"),
             ({"REGISTRY": "127.0.0.1:1/x", "GIT_SHA": "a b"}, [], "GIT_SHA='a b' must be a valid image tag"),
             ({"REGISTRY": "127.0.0.1:1/x/", "GIT_SHA": "abc"}, [], "REGISTRY=127.0.0.1:1/x/ must be host[:port]/path")]
    for extra, args, message in cases:
        out = run([*script, *args], check=False, cwd=p.dir, env={**env, **extra})
        assert out.returncode != 0 and message in out.stderr, (extra, args, out.stderr)
    # REGISTRY in .env counts, as a Compose setting there does (it once was silently ignored).
    (p.dir / ".env").write_text("REGISTRY=127.0.0.1:1/from-env/\n")
    out = run(script, check=False, cwd=p.dir, env={**env, "GIT_SHA": "abc"})
    assert out.returncode != 0 and "REGISTRY=127.0.0.1:1/from-env/ must be" in out.stderr, out.stderr
    (p.dir / ".env").unlink()
    commit_all(p.dir)
    (p.dir / "compose.yaml").write_text((p.dir / "compose.yaml").read_text() + "\n# edit\n")
    out = run(script, check=False, cwd=p.dir, env={**env, "REGISTRY": "127.0.0.1:1/x"})
    assert out.returncode != 0 and "uncommitted changes" in out.stderr, out.stderr


def test_every_service_is_one_index_for_both_platforms_under_three_tags(release):
    repo, sha = release["repo"], release["sha"]
    for service in SERVICES:
        tags = release["registry"].tags(repo.split("/", 1)[1] + "/" + service)
        assert {VERSION, sha, "prod"} <= set(tags), (service, tags)
        digests = {tag: run(["docker", "buildx", "imagetools", "inspect", "--format", "{{json .Manifest.Digest}}",
                             f"{repo}/{service}:{tag}"]).stdout.strip() for tag in (VERSION, sha, "prod")}
        assert len(set(digests.values())) == 1, (service, digests)
        assert set(_platform_digests(f"{repo}/{service}:{sha}")) == set(PLATFORMS), service
    # stdout is the release's record: one line per service, its index by digest (logs go to stderr).
    lines = release["stdout"].strip().splitlines()
    assert [line.split("@sha256:")[0] for line in lines] == [f"{repo}/{s}" for s in SERVICES], lines


def test_each_platform_pulls_by_digest_with_its_labels(release):
    """Pull every service's image for each platform by its digest; architecture and OCI labels match."""
    repo, sha = release["repo"], release["sha"]
    for service in SERVICES:
        for plat, digest in _platform_digests(f"{repo}/{service}:{sha}").items():
            ref = f"{repo}/{service}@{digest}"
            run(["docker", "image", "rm", "-f", ref], check=False)
            run(["docker", "pull", "--quiet", "--platform", plat, ref], timeout=600)
            try:
                info = json.loads(run(["docker", "image", "inspect", ref]).stdout)[0]
                assert f"{info['Os']}/{info['Architecture']}" == plat, (ref, info["Architecture"])
                labels = info["Config"]["Labels"]
                assert labels["org.opencontainers.image.revision"] == sha, labels
                assert labels["org.opencontainers.image.version"] == VERSION, labels
            finally:
                run(["docker", "image", "rm", "-f", ref], check=False)


def _arm64_command(release, service: str, *cmd, volumes=()) -> list[str]:
    """`docker run` of `cmd` in the arm64 image of `service`, pulled by digest from the test registry."""
    digest = _platform_digests(f"{release['repo']}/{service}:{release['sha']}")["linux/arm64"]
    ref = f"{release['repo']}/{service}@{digest}"
    mounts = [a for src, dst in volumes for a in ("-v", f"{src}:{dst}:ro")]
    return ["docker", "run", "--rm", "--platform", "linux/arm64", *mounts, "--entrypoint", "", ref, *cmd]


@pytest.fixture(scope="module")
def arm64_notebook(release):
    """02-trees-and-lsystems on a fresh arm64 kernel (nbclient), started here so that it runs beside
    the gallery test: each emulated run keeps about one of the host's two cores busy. The cheapest
    teaching notebook (5 s natively; 04-box-counting took 8.6 s natively, 3.4 min emulated)."""
    proc = subprocess.Popen(
        _arm64_command(release, "jupyter", "sh", "-c",
                       "cp -r /nb /tmp/nb && python /w/nbrun.py 1200 /tmp/nb/02-trees-and-lsystems.ipynb",
                       volumes=[(ROOT / "docs" / "notebooks", "/nb"),
                                (ROOT / "tests" / "data" / "nbrun.py", "/w/nbrun.py")]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


#: The amd64 tests that run again inside the arm64 image: AppTest on the home page and the Mandelbrot
#: page; the kernels' known values (Mandelbrot points, exact sets' box-counting dimensions, the
#: Sierpinski chaos game, fBm Hurst exponents) with the same tolerances.
ARM64_TESTS = ["-k", "branching_tree.py or mandelbrot.py or known_points or (sierpinski and not mass_radius) or hurst",
               "tests/apps/test_gallery.py::test_defaults_render[branching_tree.py]",
               "tests/apps/test_gallery.py::test_defaults_render[mandelbrot.py]",
               *(f"tests/kernels/test_{m}.py" for m in ("escape", "box_counting", "measure", "ifs", "lsystem", "aggregation"))]


def test_arm64_gallery_and_kernels_pass_the_amd64_tests(release, arm64_notebook):
    """ARM64_TESTS, run by pytest inside the arm64 streamlit image (one container, so numba compiles
    the shared kernels once); every test the same selection collects on this host passes there."""
    collected = run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *ARM64_TESTS],
                    cwd=ROOT, env={**os.environ, "PYTEST_ADDOPTS": ""}).stdout  # the caller's -v would change the format
    expected = int(re.search(r"^(\d+)/\d+ tests collected", collected, re.M).group(1))
    assert expected >= 15, collected  # the selection still finds the tests it names
    out = run(_arm64_command(
        release, "streamlit", "sh", "-c",
        f"pip install --quiet --no-cache-dir --target /tmp/t {_locked('pytest')} {_locked('pytest-xdist')} "
        f"{_locked('execnet')} && cd /w && PYTHONPATH=/tmp/t python -m pytest "
        f"-p no:cacheprovider -q --durations=10 {shlex.join(ARM64_TESTS)} "
        "&& python -c 'import platform, numba, fractalkit as f; f.mandelbrot(f.Viewport(-0.5, 0, 3, 32, 24), 32); "
        "print(\"machine\", platform.machine(), numba.threading_layer())'",
        volumes=[(ROOT / "tests", "/w/tests"), (ROOT / "apps", "/w/apps"), (ROOT / "pyproject.toml", "/w/pyproject.toml")]),
        timeout=1800)
    print(out.stdout[-3000:])
    summary = [line for line in out.stdout.splitlines() if " passed" in line and " in " in line]
    assert summary and summary[-1].startswith(f"{expected} passed") and "failed" not in summary[-1], (expected, out.stdout)
    assert "machine aarch64 omp" in out.stdout, out.stdout


def test_arm64_jupyter_executes_a_teaching_notebook(arm64_notebook):
    """02-trees-and-lsystems on a fresh arm64 kernel (nbclient), its own assertions included."""
    stdout, stderr = arm64_notebook.communicate(timeout=1800)
    assert arm64_notebook.returncode == 0 and stdout.strip(), (stdout, stderr[-3000:])
    result = json.loads(stdout.strip().splitlines()[-1])
    print(f"\narm64 notebook under emulation: {result}")
    assert result["ok"], result


def test_dev_images_build_for_arm64_too(release, arm64_python_image):
    """`docker compose build` of the dev stack for linux/arm64 (Compose's DOCKER_DEFAULT_PLATFORM)."""
    p = release["project"]
    env = {"PYTHON_IMAGE": arm64_python_image, "DOCKER_DEFAULT_PLATFORM": "linux/arm64", "IMAGE_TAG": p.name + "-arm64"}
    try:
        p.compose("build", env=env, timeout=3600)
        for service in ("base", "streamlit", "jupyter", "docs"):
            ref = f"{p.env['IMAGE_REPO']}/{service}:{env['IMAGE_TAG']}"
            arch = run(["docker", "image", "inspect", "-f", "{{.Architecture}}", ref]).stdout.strip()
            assert arch == "arm64", (ref, arch)
    finally:
        run(["docker", "image", "rm", "-f", *(f"{p.env['IMAGE_REPO']}/{s}:{env['IMAGE_TAG']}"
                                             for s in ("base", "streamlit", "jupyter", "docs"))], check=False)


def _locked(name: str) -> str:
    """`name==version` as pinned in uv.lock (what the host's tests run with)."""
    import tomllib
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    version = next(p["version"] for p in lock["package"] if p["name"] == name)
    return f"{name}=={version}"

