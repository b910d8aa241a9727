#!/usr/bin/env python3
"""Builds the default classifier: ResNet-18 with torchvision's architecture, batch-norm folded
into the convolutions, and weights drawn from a fixed seed.

Its cost equals the pretrained network's (11.7 M parameters, ~1.8 GMAC per 224x224 image,
input [N,3,224,224] float32, output [N,1000] logits), but its weights are random: the labels it
predicts are meaningless. No model hub is used. With the pinned numpy and onnx of
scripts/requirements.txt the file is byte-identical on every machine; its SHA-256 is checked
against models/resnet18.onnx.sha256.

Usage: make_resnet18.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 18


def build():
    rng = np.random.default_rng(SEED)
    nodes, inits = [], []

    def param(name, array):
        inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv(x, cin, cout, k, stride, pad, name, relu, gain=1.0):
        # He-normal weights; the bias is what a folded batch norm leaves behind.
        std = gain * np.sqrt(2.0 / (cin * k * k))
        w = param(name + ".weight", rng.standard_normal((cout, cin, k, k), dtype=np.float32) * std)
        b = param(name + ".bias", rng.standard_normal(cout, dtype=np.float32) * 0.01)
        out = name + ".out"
        nodes.append(helper.make_node("Conv", [x, w, b], [out], name=name, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[pad] * 4))
        if relu:
            nodes.append(helper.make_node("Relu", [out], [name + ".relu"], name=name + ".relu"))
            return name + ".relu"
        return out

    def block(x, cin, cout, stride, name):
        y = conv(x, cin, cout, 3, stride, 1, name + ".conv1", relu=True)
        # A small gain on the last conv of each residual branch keeps activations bounded.
        y = conv(y, cout, cout, 3, 1, 1, name + ".conv2", relu=False, gain=0.3)
        skip = x if stride == 1 and cin == cout else conv(x, cin, cout, 1, stride, 0, name + ".downsample", relu=False)
        nodes.append(helper.make_node("Add", [y, skip], [name + ".add"], name=name + ".add"))
        nodes.append(helper.make_node("Relu", [name + ".add"], [name + ".out"], name=name + ".relu"))
        return name + ".out"

    x = conv("input", 3, 64, 7, 2, 3, "conv1", relu=True)
    nodes.append(helper.make_node("MaxPool", [x], ["maxpool"], name="maxpool", kernel_shape=[3, 3],
                                  strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = "maxpool", 64
    for i, (cout, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
        x = block(x, cin, cout, stride, f"layer{i}.0")
        x = block(x, cout, cout, 1, f"layer{i}.1")
        cin = cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["avgpool"], name="avgpool"))
    nodes.append(helper.make_node("Flatten", ["avgpool"], ["flatten"], name="flatten", axis=1))
    fc = rng.standard_normal((1000, 512), dtype=np.float32) * np.float32(np.sqrt(1.0 / 512))
    # Rows orthogonal to the all-ones vector: the features' common level (all positive after
    # ReLU) then moves no logit, so the top-1 class follows the image instead of one class winning.
    w = param("fc.weight", fc - fc.mean(axis=1, keepdims=True))
    b = param("fc.bias", rng.standard_normal(1000, dtype=np.float32) * 0.01)
    nodes.append(helper.make_node("Gemm", ["flatten", w, b], ["logits"], name="fc", transB=1))

    graph = helper.make_graph(
        nodes, "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        initializer=inits,
    )
    model = helper.make_model(graph, producer_name="runner/models/make_resnet18.py", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.doc_string = ("ResNet-18 architecture (torchvision), batch-norm folded, seeded random weights "
                        f"(seed {SEED}): real cost, meaningless labels.")
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model = build()
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    with open(sys.argv[1], "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    print(f"wrote {sys.argv[1]}: {params} parameters")


if __name__ == "__main__":
    main()
