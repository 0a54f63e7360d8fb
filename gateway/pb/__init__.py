"""Code generated from protos/ by scripts/gen_protos.py (grpc_tools.protoc). Do not edit.

Import messages and stubs from their modules, e.g.
``from gateway.pb.yrd.v1 import exchange_pb2, exchange_pb2_grpc``.
"""
