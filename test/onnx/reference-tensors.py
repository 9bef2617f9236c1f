#!/usr/bin/python3
"""Prints ONNX's own encoding of sample tensors of data types 1-16 as JSON, for
test/onnx/tensor-data.test.ts: for each type the values, the TensorProto that onnx.numpy_helper
(raw_data) and onnx.helper.make_tensor(raw=False) (typed fields) produce, as hex."""
import json

import numpy as np
from onnx import TensorProto, helper, numpy_helper

SAMPLES = [
    (TensorProto.FLOAT, np.float32, [1.5, -2.25, 3e38, -0.0, float("inf")]),
    (TensorProto.UINT8, np.uint8, [0, 255, 7]),
    (TensorProto.INT8, np.int8, [-128, 127, -3]),
    (TensorProto.UINT16, np.uint16, [0, 65535, 300]),
    (TensorProto.INT16, np.int16, [-32768, 32767, -5]),
    (TensorProto.INT32, np.int32, [-(2**31), 2**31 - 1, 0]),
    (TensorProto.INT64, np.int64, [-(2**63), 2**63 - 1, 42]),
    (TensorProto.STRING, object, ["a", "h\u00e9llo", ""]),
    (TensorProto.BOOL, np.bool_, [True, False, True]),
    (TensorProto.FLOAT16, np.float16, [1.5, -2.0, 65504.0, 0.0009765625]),
    (TensorProto.DOUBLE, np.float64, [1e300, -0.5, 2.0**-1074]),
    (TensorProto.UINT32, np.uint32, [0, 2**32 - 1, 12345]),
    (TensorProto.UINT64, np.uint64, [0, 2**64 - 1, 12345]),
    (TensorProto.COMPLEX64, np.complex64, [1 + 2j, -3j]),
    (TensorProto.COMPLEX128, np.complex128, [1e200 + 1j, -1j]),
    (TensorProto.BFLOAT16, None, [1.5, -2.0, 3.0]),
]


def expected_values(data_type, dtype, values):
    """The values as exitwise's tensorToArray exposes them (bits for 16-bit floats)."""
    if data_type == TensorProto.STRING:
        return values
    if data_type == TensorProto.FLOAT16:
        return np.array(values, dtype=np.float16).view(np.uint16).tolist()
    if data_type == TensorProto.BFLOAT16:
        return [int(np.array([v], dtype=np.float32).view(np.uint32)[0] >> 16) for v in values]
    if data_type in (TensorProto.COMPLEX64, TensorProto.COMPLEX128):
        return [float(x) for v in np.array(values, dtype=dtype).tolist() for x in (v.real, v.imag)]
    if data_type in (TensorProto.INT64, TensorProto.UINT64):
        return [str(v) for v in values]
    if data_type == TensorProto.BOOL:
        return [int(v) for v in values]
    if data_type in (TensorProto.FLOAT, TensorProto.DOUBLE):
        # JSON has no infinities: they travel as strings that Number() reads back.
        return [float(v) if np.isfinite(v) else str(float(v)).replace("inf", "Infinity") for v in np.array(values, dtype=dtype).tolist()]
    return values


def raw_tensor(data_type, dtype, values):
    if data_type == TensorProto.BFLOAT16:
        bits = np.array(expected_values(data_type, dtype, values), dtype="<u2")
        return helper.make_tensor("t", data_type, [len(values)], bits.tobytes(), raw=True)
    if data_type == TensorProto.STRING:
        return helper.make_tensor("t", data_type, [len(values)], [v.encode() for v in values])
    return numpy_helper.from_array(np.array(values, dtype=dtype), "t")


def field_tensor(data_type, dtype, values):
    if data_type == TensorProto.STRING:
        return helper.make_tensor("t", data_type, [len(values)], [v.encode() for v in values])
    if data_type == TensorProto.FLOAT16:
        values = np.array(values, dtype=np.float16)
    return helper.make_tensor("t", data_type, [len(values)], values, raw=False)


out = []
for data_type, dtype, values in SAMPLES:
    raw = raw_tensor(data_type, dtype, values)
    field = field_tensor(data_type, dtype, values)
    assert data_type == TensorProto.STRING or len(raw.raw_data) > 0 and len(field.raw_data) == 0
    out.append({
        "dataType": data_type,
        "dims": [len(values)],
        "expected": expected_values(data_type, dtype, values),
        "raw": raw.SerializeToString().hex(),
        "field": field.SerializeToString().hex(),
    })
print(json.dumps(out))
