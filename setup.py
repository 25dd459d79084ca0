"""Building the project (`pip install .`, a wheel) compiles the interface translations
first, so an install made without `make` still answers a French reader in French; the
compiled catalogues also travel in the wheel, under share/undersigned/locale/."""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build import build

ROOT = Path(__file__).resolve().parent


class BuildWithCatalogues(build):
    def run(self) -> None:
        sys.path.insert(0, str(ROOT / "scripts"))
        from compile_messages import compile_all

        compile_all([ROOT / "locale"])
        super().run()


def catalogue_files() -> list[tuple[str, list[str]]]:
    files = []
    for po in sorted((ROOT / "locale").glob("*/LC_MESSAGES/django.po")):
        language = po.parent.parent.name
        files.append(
            (
                f"share/undersigned/locale/{language}/LC_MESSAGES",
                [str(po.relative_to(ROOT).with_suffix(".mo"))],
            )
        )
    return files


setup(cmdclass={"build": BuildWithCatalogues}, data_files=catalogue_files())
