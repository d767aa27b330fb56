"""Show images stored in S3 side by side, so a notebook can compare uploads with their thumbnails."""
import io

from . import aws

PREVIEW = 480  # pixels: larger images are drawn from a preview this size


def show_s3_images(pairs, title: str) -> None:
    """Draw ``(bucket, key)`` images in a row as they are stored, each titled with its size, format and mode.

    The background is grey, so transparent pixels show as grey. 16-bit images are drawn from their raw values.
    Large images are drawn from a preview of at most ``PREVIEW`` pixels a side (the title gives the stored size), so a
    12-megapixel photo takes milliseconds to draw, not seconds.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    s3 = aws.client("s3")
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.2 * len(pairs), 3.2), squeeze=False)
    for ax, (bucket, key) in zip(axes[0], pairs):
        image = Image.open(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        width, height = image.size
        stored = f"{width}x{height} {image.format} {image.mode}"
        if max(width, height) > PREVIEW:
            image.draft(image.mode, (PREVIEW, PREVIEW))  # JPEGs decode straight to a smaller scale
            image.thumbnail((PREVIEW, PREVIEW))
        ax.imshow(np.asarray(image) if image.mode.startswith("I") else image.convert("RGBA"), cmap="gray",
                  extent=(0, width, height, 0))  # axes in the stored image's pixels
        ax.set_title(f"{key.split('/')[-1]}\n{stored}", fontsize=9)
        ax.set_xlabel("pixels")
        ax.set_facecolor("#bbbbbb")
    fig.suptitle(title)
    plt.show()
