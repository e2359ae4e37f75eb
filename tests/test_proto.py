"""The checked-in gRPC stubs are exactly what scripts/gen_proto.py makes from proto/."""

from __future__ import annotations

import importlib.util

from conftest import REPO


def test_generated_stubs_match_the_proto(tmp_path):
    spec = importlib.util.spec_from_file_location("gen_proto", REPO / "scripts" / "gen_proto.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    fresh = gen.generate(tmp_path)
    assert [p.name for p in fresh] == [
        "phenosort_pb2.py",
        "phenosort_pb2.pyi",
        "phenosort_pb2_grpc.py",
    ]
    for path in fresh:
        checked_in = REPO / "python" / "phenosort" / "v1" / path.name
        assert checked_in.read_bytes() == path.read_bytes(), (
            f"{checked_in} is stale: run scripts/gen_proto.py"
        )
