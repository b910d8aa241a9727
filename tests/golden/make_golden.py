#!/usr/bin/env python3
"""Makes the golden files the classify tests compare against, with an independent
implementation: Pillow for preprocessing and onnxruntime's Python API for inference.

For each image: Pillow's RGB bilinear resize to 224x224 (saved as <name>.png, lossless), then
the ImageNet normalisation in numpy float32, NCHW, and the logits of each model for that tensor
(logits.json, with each model's SHA-256): models/resnet18.onnx and its int8 quantisation
models/resnet18-int8.onnx.

Run with the set-up's venv:  .deps/venv/bin/python tests/golden/make_golden.py
With `--print MODEL`, it prints that model's entry (for the committed PNGs) instead of writing:
the tests use it for an int8 model this machine built differently (see scripts/setup).
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = [
    "classify/espresso.jpg", "classify/ladybug.jpg", "classify/missile.jpg",
    "classify/paintbrush.jpg", "classify/tabby-cat.jpg",
    "high-res/high-res-1.jpg", "low-res/low-res-1.jpg",
    "mixed-formats/mixed-2.png", "mixed-formats/mixed-3.webp",
]
MODELS = ["resnet18.onnx", "resnet18-int8.onnx"]
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def main():
    printing = sys.argv[1:2] == ["--print"]
    tensors, images = [], []
    for rel in IMAGES:
        name = rel.replace("/", "__").rsplit(".", 1)[0] + ".png"
        if printing:  # the committed PNGs, exactly what the test feeds the runner
            img = Image.open(os.path.join(os.path.dirname(__file__), name)).convert("RGB")
        else:
            img = Image.open(os.path.join(ROOT, "assets", rel)).convert("RGB").resize((224, 224), Image.BILINEAR)
            img.save(os.path.join(os.path.dirname(__file__), name))
        x = (np.asarray(img, dtype=np.float32) / np.float32(255) - MEAN) / STD
        tensors.append(np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32))
        images.append({"image": rel, "pillow_png": name})
    models = []
    for file in (sys.argv[2:3] if printing else MODELS):
        model = os.path.join(ROOT, "models", file)
        with open(model, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        items = []
        for rel, x in zip(IMAGES, tensors):
            logits = session.run(None, {"input": x})[0][0]
            items.append({"image": rel, "top1": int(logits.argmax()), "logits": [float(v) for v in logits]})
        models.append({"file": file, "sha256": sha, "items": items})
        if printing:
            print(json.dumps(models[-1]))
            return
        print(f"{file} ({sha[:12]}): top-1 {[i['top1'] for i in items]}")
    out = {"onnxruntime": ort.__version__, "pillow": Image.__version__,
           "resize": "Pillow RGB resize((224, 224), BILINEAR)", "mean": MEAN.tolist(), "std": STD.tolist(),
           "images": images, "models": models}
    with open(os.path.join(os.path.dirname(__file__), "logits.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {len(images)} golden images for {len(models)} models")


if __name__ == "__main__":
    main()
