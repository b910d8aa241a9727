#!/usr/bin/env python3
"""Builds the int8 classifier from the default one: ONNX Runtime's static quantisation of
models/resnet18.onnx, offline and deterministic.

Steps: ONNX Runtime's pre-processing (quant_pre_process: shape inference and graph
optimisation), then quantize_static in the QDQ format with per-channel int8 weights and uint8
activations, calibrated (MinMax) on the project's own photos (assets/classify, high-res,
low-res), each prepared exactly as the classify workload prepares its input: RGB, bilinear
resize to 224x224, ImageNet normalisation, NCHW float32.

With the pinned packages of scripts/requirements.txt the file is byte-identical on every
machine; its SHA-256 is checked against models/resnet18-int8.onnx.sha256.

Usage: make_resnet18_int8.py FP32.onnx OUT.onnx
"""
import glob
import os
import sys
import tempfile

import numpy as np
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def photos():
    """The calibration set, in a fixed order."""
    out = []
    for folder in ("classify", "high-res", "low-res"):
        out += sorted(glob.glob(os.path.join(ROOT, "assets", folder, "*.jpg")))
    return out


def tensor(path):
    img = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
    x = (np.asarray(img, dtype=np.float32) / np.float32(255) - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


class Photos(CalibrationDataReader):
    def __init__(self):
        self.items = iter([{"input": tensor(p)} for p in photos()])

    def get_next(self):
        return next(self.items, None)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        quantize_static(pre, out, Photos(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    print(f"wrote {out}: calibrated on {len(photos())} photos")


if __name__ == "__main__":
    main()
