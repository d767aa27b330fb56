"""Generate the course's sample images (data/images/), the same bytes on every run.

Every image is drawn by this script (CC0, see images/README.md): no photo of anyone, nothing to license.

    python data/make_sample_images.py            # (re)write data/images/
    python data/make_sample_images.py --check    # exit 1 if a committed file differs from what the script makes

Good inputs cover what real uploads look like: a 12-megapixel camera JPEG, a phone photo stored sideways with an
EXIF Orientation tag, a PNG logo with transparency, a CMYK JPEG from a print workflow, an animated palette GIF and a
16-bit greyscale PNG (a scan). Bad inputs (images/bad/) are what a thumbnail function must refuse without crashing.
"""
import io
import pathlib
import sys

import numpy as np
from PIL import Image, ImageDraw

HERE = pathlib.Path(__file__).resolve().parent / "images"
EXIF_ORIENTATION, EXIF_MAKE, EXIF_MODEL, EXIF_DATETIME, EXIF_SOFTWARE = 0x0112, 0x010F, 0x0110, 0x0132, 0x0131


def landscape(width, height, seed):
    """A photo-like scene (sky, sun, two mountain ridges, a lake) with film grain, as an RGB image."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    horizon = 0.72
    sky = (1 - y / horizon) * np.array([40, 90, 170], np.float32) + (y / horizon) * np.array([235, 215, 190], np.float32)
    img = np.broadcast_to(sky, (height, width, 3)).copy()
    aspect = width / height
    sun = np.exp(-(((x - 0.7) * aspect) ** 2 + (y - 0.3) ** 2) / 0.004)
    img += sun * np.array([60, 40, 10], np.float32) + (sun > 0.6) * 80.0
    for level, colour, rough in ((0.45, (95, 105, 130), 0.0025), (0.58, (45, 75, 50), 0.004)):
        ridge = level + np.cumsum(rng.normal(0, rough, width)).astype(np.float32)
        ridge -= np.linspace(0, ridge[-1] - level, width, dtype=np.float32)  # end where it started
        rows = np.broadcast_to(y[:, :, 0], (height, width))
        below = rows > ridge[None, :]
        img[below] = np.array(colour, np.float32) * (0.8 + 0.4 * rows[below, None])
    lake = y[:, 0, 0] > horizon
    mirror = np.clip((2 * horizon - y[lake, 0, 0]) * (height - 1), 0, height - 1).astype(int)
    img[lake] = img[mirror] * 0.7 + np.array([0, 10, 25], np.float32)
    texture = rng.normal(0, 1, (height // 16 + 1, width // 16 + 1)).astype(np.float32)
    texture = np.asarray(Image.fromarray(texture, "F").resize((width, height), Image.Resampling.BICUBIC))
    img += (10 * texture)[:, :, None] + rng.normal(0, 3, (height, width, 1)).astype(np.float32)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def camera_exif(orientation=1):
    exif = Image.Exif()
    exif.update({EXIF_MAKE: "lambdalab", EXIF_MODEL: "Synthetic Camera", EXIF_SOFTWARE: "make_sample_images.py",
                 EXIF_DATETIME: "2024:07:14 10:30:00", EXIF_ORIENTATION: orientation})
    return exif


def jpeg(image, **options):
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def png(image, **options):
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


def vacation():
    """12.2 megapixels (4032x3024, a phone camera's size), about 3 MB, EXIF like a camera writes."""
    return jpeg(landscape(4032, 3024, seed=1), quality=90, exif=camera_exif())


def portrait_rotated():
    """A portrait photo (sky on top) stored sideways, as phones do, with EXIF Orientation 6 (rotate 90 deg CW)."""
    shown = landscape(1200, 1600, seed=2)
    stored = shown.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote; a viewer rotates it back
    return jpeg(stored, quality=88, exif=camera_exif(orientation=6))


def logo_transparent():
    """An RGBA logo: an opaque orange disc with a half-transparent ring, on a fully transparent background."""
    image = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 50, 650, 550), fill=(0, 120, 200, 128))
    draw.ellipse((200, 100, 600, 500), fill=(255, 153, 0, 255))
    draw.rectangle((330, 230, 470, 370), fill=(35, 47, 62, 255))
    return png(image, optimize=True)


def print_cmyk():
    """A CMYK JPEG as print workflows produce: three bands of pure cyan, magenta and yellow ink."""
    image = Image.new("CMYK", (1200, 800))
    draw = ImageDraw.Draw(image)
    for i, ink in enumerate(((255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0))):
        draw.rectangle((i * 400, 0, i * 400 + 399, 799), fill=ink)
    return jpeg(image, quality=90)


def animation_gif():
    """A 3-frame palette GIF with a transparent background (a bouncing ball)."""
    frames = []
    for i in range(3):
        frame = Image.new("P", (400, 300), 0)
        frame.putpalette([255, 255, 255, 220, 30, 30, 30, 30, 220] + [0] * 759)
        draw = ImageDraw.Draw(frame)
        draw.ellipse((100 + 40 * i, 75, 250 + 40 * i, 225), fill=1)
        draw.rectangle((0, 270, 399, 299), fill=2)
        frames.append(frame)
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0, transparency=0)
    return out.getvalue()


def scan_16bit():
    """A 16-bit greyscale PNG (mode I;16), a left-to-right ramp from black to white, as scanners write."""
    ramp = np.tile(np.linspace(0, 65535, 1000).astype(np.uint16), (700, 1))
    return png(Image.fromarray(ramp))  # uint16 -> mode I;16


def not_an_image():
    return b"This is a text file that someone named holiday.jpg. It is not an image.\n" * 20


def truncated():
    """The first half of a real JPEG, as an interrupted upload leaves it."""
    data = portrait_rotated()
    return data[: len(data) // 2]


def bomb():
    """A decompression bomb: 48 KB on disk, 400 megapixels (20000x20000) once decoded."""
    return png(Image.new("1", (20000, 20000)), optimize=True)


def too_big():
    """A real 81-megapixel poster (9000x9000): 250 KB on disk, about 650 MB of memory to decode and shrink."""
    return png(Image.new("RGB", (9000, 9000), (200, 180, 40)), optimize=True)


FILES = {
    "vacation.jpg": vacation,
    "portrait-rotated.jpg": portrait_rotated,
    "logo-transparent.png": logo_transparent,
    "print-cmyk.jpg": print_cmyk,
    "animation.gif": animation_gif,
    "scan-16bit.png": scan_16bit,
    "bad/holiday.jpg": not_an_image,
    "bad/truncated.jpg": truncated,
    "bad/bomb.png": bomb,
    "bad/too-big.png": too_big,
}


def main(argv):
    check = "--check" in argv
    differ = []
    for name, make in FILES.items():
        path = HERE / name
        data = make()
        if check:
            if not path.exists() or path.read_bytes() != data:
                differ.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{name:24} {len(data):>10,} bytes")
    if differ:
        print("differ from what the script makes:", ", ".join(differ))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
