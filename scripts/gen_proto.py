"""Generate the Python gRPC stubs from proto/ into python/phenosort/v1/.

The stubs are checked in so that `pip install` needs no code generation;
tests/test_proto.py regenerates them into a temporary folder and fails if they differ.

    .venv/bin/python scripts/gen_proto.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO / "proto"
PROTOS = ["phenosort/v1/phenosort.proto"]


def generate(out: Path) -> list[Path]:
    """Run grpc_tools.protoc; returns the files written under ``out``."""
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    for proto in PROTOS:
        code = protoc.main(
            [
                "protoc",
                f"-I{PROTO_ROOT}",
                f"--python_out={out}",
                f"--pyi_out={out}",
                f"--grpc_python_out={out}",
                str(PROTO_ROOT / proto),
            ]
        )
        if code != 0:
            raise SystemExit(f"protoc failed on {proto} (exit {code})")
    return sorted((out / "phenosort" / "v1").glob("phenosort_pb2*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "python")
    args = parser.parse_args()
    for path in generate(args.out):
        print(path.relative_to(args.out))


if __name__ == "__main__":
    sys.exit(main())
