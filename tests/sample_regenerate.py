"""Write the trimmed sample databases shipped in ``tests/samples/`` from their upstream files.

Usage (from the repository's root)::

    python -m tests.sample_regenerate --from <folder> --to tests/samples

``<folder>`` holds one folder per sample with the upstream files named as upstream
(``chinook/Chinook_Sqlite.sql``, ``pagila/pagila-data.sql``, ...; :data:`UPSTREAM` says where
each comes from). Each file must have the SHA-256 :data:`UPSTREAM` gives: the trimming in
:mod:`tests.sample_trim` was written for those versions. For each sample this writes, under
``--to``: the scripts trimmed by :mod:`tests.sample_trim` (named as upstream), the upstream
licence file unchanged (Sakila has none apart from its script: its header, the New BSD
licence, is copied into ``LICENSE``) and :data:`TRIMMED_MARKER`, which names the source and
marks the folder as trimmed (:mod:`tests.samples` then loads its scripts as they are).
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

from tests.samples import SAMPLES, TRIMMED_MARKER

__all__ = ["UPSTREAM", "Upstream", "main", "regenerate"]


@dataclass(frozen=True)
class Upstream:
    """Where a sample's files come from: ``repo@commit``, and per file its path there and SHA-256."""

    repo: str
    commit: str
    files: dict[str, tuple[str, str]]


UPSTREAM = {
    "chinook": Upstream(
        "lerocha/chinook-database",
        "7f67772503d71ba90f19283c38e93923addb43fa",
        {
            "Chinook_Sqlite.sql": (
                "ChinookDatabase/DataSources/Chinook_Sqlite.sql",
                "caf31d698a4a79c628215b552dfe6575e71be052ae02b8f18e763498f55f5d44",
            ),
            "Chinook_PostgreSql.sql": (
                "ChinookDatabase/DataSources/Chinook_PostgreSql.sql",
                "e3fde5c1a5b51a2a91429a702c9ca6e69ba56e6c7f5e112724d70c3d03db695e",
            ),
            "Chinook_MySql.sql": (
                "ChinookDatabase/DataSources/Chinook_MySql.sql",
                "68768623bac1fe6f92c317235735c706a54a28cc76ab175c194e99f994dadbd6",
            ),
            "LICENSE.md": ("LICENSE.md", "5064d720db431474b0a0b0cef9d2b5e362b6c6f80602b35c6443b07cbc979f77"),
        },
    ),
    "pagila": Upstream(
        "devrimgunduz/pagila",
        "e0e35a666f31a786b9d3c06cb83799fc46db25d4",
        {
            "pagila-schema.sql": (
                "pagila-schema.sql",
                "8ce358e4c8014087b85296694a0893887bd7a4190e3ce407f2721b86b98e5707",
            ),
            "pagila-data.sql": ("pagila-data.sql", "880580fb2cd4daaa99f290ced264988cdd657b3158be63cd281466f796f6dbf2"),
            "LICENSE.txt": ("LICENSE.txt", "516e7dac679ac1eeb62d5614b01c4e7318154e9a147377d6264954215997ff38"),
        },
    ),
    "sakila": Upstream(
        "aFemzz/Sakila-db",
        "44864c2865dff5004bfb6b77d055426e0ba29996",
        {
            "sakila-schema.sql": (
                "sakila-db/sakila-schema.sql",
                "d80d69e78c800020126847678dfebe6bc40f78a828b2e33a9db38d7a6c84c123",
            ),
            "sakila-data.sql": (
                "sakila-db/sakila-data.sql",
                "9e4d588622957ae7fa5bbb29f9d75e08b8276071deedf1d5dec9309f5ba22119",
            ),
        },
    ),
}


def _sakila_licence(schema: str) -> str:
    """The header of ``sakila-schema.sql`` (its comment lines up to the first statement): the licence."""
    header = []
    for line in schema.splitlines():
        if line.strip() and not line.startswith("--"):
            break
        header.append(line)
    text = "\n".join(header).strip() + "\n"
    if "Redistribution and use" not in text:
        raise ValueError("sakila-schema.sql: no licence in its header")
    return text


def regenerate(source: Path, target: Path) -> list[Path]:
    """Trim every sample of ``source`` into ``target``; returns the files written."""
    written: list[Path] = []
    for name, sample in SAMPLES.items():
        upstream = UPSTREAM[name]
        texts: dict[str, str] = {}
        for filename, (_, sha256) in upstream.files.items():
            data = (source / name / filename).read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise ValueError(f"{source / name / filename}: not the upstream file (SHA-256 {sha256} expected)")
            texts[filename] = data.decode("utf-8")
        folder = target / name
        folder.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, str] = {}
        for dialect, scripts in sample.scripts.items():
            trimmed = sample.trim(dialect, [texts[script] for script in scripts])
            outputs.update(zip(scripts, trimmed, strict=True))
        outputs[sample.licence or "LICENSE"] = (
            texts[sample.licence] if sample.licence else _sakila_licence(texts["sakila-schema.sql"])
        )
        outputs[TRIMMED_MARKER] = (
            "Trimmed by tests/sample_trim.py (python -m tests.sample_regenerate) "
            f"from {upstream.repo}@{upstream.commit}\n"
            "(SHA-256 of each upstream file, and its path there; the licence is copied unchanged):\n"
            + "".join(f"{sha256}  {path}\n" for path, sha256 in upstream.files.values())
        )
        for filename, text in outputs.items():
            path = folder / filename
            path.write_bytes(text.encode("utf-8"))  # as written: no newline translation
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.sample_regenerate", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, help="folder of the upstream files")
    parser.add_argument("--to", dest="target", type=Path, default=Path("tests/samples"), help="default: tests/samples")
    args = parser.parse_args(argv)
    for path in regenerate(args.source, args.target):
        print(f"{path.stat().st_size:>9}  {path}")


if __name__ == "__main__":
    main()
