"""The built distribution carries the compiled interface translations."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_building_the_wheel_compiles_the_catalogues_and_ships_them(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "scripts").mkdir(parents=True)
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy(ROOT / name, source / name)
    shutil.copy(ROOT / "scripts" / "compile_messages.py", source / "scripts")
    languages = []
    for po in (ROOT / "locale").glob("*/LC_MESSAGES/django.po"):
        target = source / po.relative_to(ROOT)
        target.parent.mkdir(parents=True)
        shutil.copy(po, target)
        languages.append(po.parent.parent.name)
    assert {"fr", "de", "es"} <= set(languages)
    assert not list(source.glob("locale/*/LC_MESSAGES/*.mo"))  # nothing compiled by make

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip

    (wheel,) = (tmp_path / "dist").glob("undersigned-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for language in languages:
        assert any(
            name.endswith(f"share/undersigned/locale/{language}/LC_MESSAGES/django.mo")
            for name in names
        ), language
    # An in-place install (`pip install .` in the checkout) leaves them where Django reads.
    assert (source / "locale" / "fr" / "LC_MESSAGES" / "django.mo").stat().st_size > 1000
