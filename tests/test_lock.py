"""The lock files pin every dependency pyproject.toml declares, at versions it accepts: CI,
`make install` and the Docker image install exactly these."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


def pins(name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if match := PIN.match(line.strip()):
            found[canonicalize_name(match["name"])] = match["version"]
    return found


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize(("lock", "extras"), [("main.txt", ()), ("dev.txt", ("dev", "docs"))])
def test_the_lock_pins_every_declared_dependency_at_an_accepted_version(
    lock: str, extras: tuple[str, ...]
) -> None:
    pinned = pins(lock)
    problems = []
    for requirement in declared(*extras):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name}: not in requirements/{lock}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} does not satisfy {requirement}")
    assert not problems, "run scripts/lock: " + "; ".join(problems)


def test_make_install_ci_and_the_image_install_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements/dev.txt" in makefile
    assert "requirements/main.txt" in (ROOT / "Dockerfile").read_text()
