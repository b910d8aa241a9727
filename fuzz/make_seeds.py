"""Writes fuzz/seeds/image_task: 48-pixel thumbnails of the project's photos, cycling JPEG/PNG/WebP,
plus a few flat fields in other modes. Run from fuzz/ with the project's venv:
    ../.deps/venv/bin/python make_seeds.py
"""
import glob

from PIL import Image

OUT = "seeds/image_task"
sources = sorted(glob.glob("../assets/*/*.jpg") + glob.glob("../assets/*/*.png") + glob.glob("../assets/*/*.webp"))
for i, path in enumerate(sources):
    im = Image.open(path).convert("RGB")
    im.thumbnail((48, 48))
    ext, fmt = [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")][i % 3]
    im.save(f"{OUT}/s{i}.{ext}", fmt)
Image.new("L", (20, 10), 128).save(f"{OUT}/grey.png")
Image.new("RGBA", (9, 7), (1, 2, 3, 4)).save(f"{OUT}/rgba.png")
Image.new("RGB", (33, 17), (200, 10, 10)).save(f"{OUT}/prog.jpg", progressive=True)
Image.new("L", (16, 16), 7).save(f"{OUT}/grey.jpg")
