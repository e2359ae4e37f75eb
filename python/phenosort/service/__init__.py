"""The gRPC service over the engine: codec, server, servicer (grpc is imported here only)."""
