"""Generated gRPC stubs of the phenosort.v1 API (scripts/gen_proto.py; never hand-edited)."""
