"""Make a thumbnail of every image uploaded to an S3 bucket (the study guide's worked example).

A user uploads ``photos/vacation.jpg`` to the input bucket; S3 invokes this function asynchronously with an event;
the function reads the image, shrinks it to fit in 150x150 (keeping the aspect ratio, never enlarging) and writes
``photos/thumb-vacation.jpg`` to the bucket named by ``OUTPUT_BUCKET``.

Deployable to AWS as it is: only the standard library, boto3 and Pillow.

Environment variables
    OUTPUT_BUCKET    required: where thumbnails go.
    THUMBNAIL_SIZE   the box a thumbnail fits in: ``150`` (square) or ``200x120``; default 150.
    OUTPUT_PREFIX    optional: put thumbnails under this prefix (``thumbnails/`` -> thumbnails/photos/thumb-x.jpg).
                     Required when OUTPUT_BUCKET is the bucket the function reads from.

What it returns: ``{"processed": [...], "skipped": [...], "rejected": [...]}``, one entry per record.
- *rejected*: bad input (not an image, truncated, a decompression bomb, too big for the function's memory), with the
  reason; the original is never modified and the other records of the event are still processed.
- *skipped*: nothing to do (one of its own thumbnails, an object already deleted, a removal event).
- S3 errors (throttling, a failed call, access denied) are raised, so Lambda retries the event.

The execution role needs s3:GetObject on the input bucket and s3:PutObject on the output bucket, nothing more.
"""
import io
import logging
import os
import posixpath
import re
import warnings
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# Created once per execution environment (at INIT) and reused by every warm invocation.
s3 = boto3.client("s3")
Image.preinit()  # Pillow's JPEG, PNG, GIF and BMP decoders, loaded at INIT rather than on the first photo

THUMB_PREFIX = "thumb-"
RUNTIME_OVERHEAD_MB = 64  # what the Python runtime, boto3 and Pillow use before any image is read
JPEG_QUALITY = 85
EXTENSIONS = {"JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "PNG": (".png",)}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
# Modes Pillow cannot shrink well or at all (palette, 1-bit, 16-bit): converted before shrinking.
_BEFORE_RESIZE = {"1": "L", "PA": "RGBA", "I;16": "I", "I;16B": "I", "I;16L": "I", "I;16N": "I"}


class ConfigurationError(Exception):
    """The function's environment variables are missing or wrong (fix the configuration, not the input)."""


class Rejected(Exception):
    """This object cannot be made into a thumbnail; the message says why."""


class Skipped(Exception):
    """There is nothing to do for this record; the message says why."""


def handler(event, context):
    """Lambda entry point: make a thumbnail for each record; report processed, skipped and rejected keys."""
    settings = load_settings()
    result = {"processed": [], "skipped": [], "rejected": []}
    for record in event.get("Records", []):
        where = _describe(record)
        try:
            result["processed"].append(process_record(record, settings))
        except Skipped as why:
            logger.info("SKIPPED s3://%s/%s: %s", where["bucket"], where["key"], why)
            result["skipped"].append({**where, "reason": str(why)})
        except Rejected as why:
            logger.error("REJECTED s3://%s/%s: %s", where["bucket"], where["key"], why)
            result["rejected"].append({**where, "reason": str(why)})
    logger.info("%d processed, %d skipped, %d rejected",
                len(result["processed"]), len(result["skipped"]), len(result["rejected"]))
    return result


def load_settings():
    """Read and check the function's configuration from its environment variables."""
    output_bucket = os.environ.get("OUTPUT_BUCKET", "").strip()
    if not output_bucket:
        raise ConfigurationError("OUTPUT_BUCKET is not set: set the function's environment variable OUTPUT_BUCKET "
                                 "to the name of the bucket that receives the thumbnails.")
    raw_size = os.environ.get("THUMBNAIL_SIZE", "150").strip().lower()
    match = re.fullmatch(r"(\d+)(?:x(\d+))?", raw_size)
    if not match or not 0 < int(match[1]) <= 4096 or not 0 < int(match[2] or match[1]) <= 4096:
        raise ConfigurationError(f"THUMBNAIL_SIZE={raw_size!r} is not a size: use a number of pixels like 150, "
                                 "or WIDTHxHEIGHT like 200x120 (1 to 4096).")
    prefix = os.environ.get("OUTPUT_PREFIX", "").strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")  # set by Lambda; absent when run elsewhere
    budget = (int(memory) - RUNTIME_OVERHEAD_MB) * 2**20 if memory else None
    return {"output_bucket": output_bucket, "size": (int(match[1]), int(match[2] or match[1])),
            "output_prefix": prefix, "memory_budget": budget}


def process_record(record, settings):
    """Make and upload the thumbnail of one S3 event record; raise Skipped or Rejected when there is none to make."""
    if not isinstance(record, dict) or "s3" not in record:
        raise Rejected("not an S3 event record (no 's3' field): this function expects S3 event notifications")
    if str(record.get("eventName", "")).startswith("ObjectRemoved"):
        raise Skipped("the object was removed; there is nothing to make a thumbnail of")
    where = _describe(record)
    if not isinstance(where["bucket"], str) or not isinstance(where["key"], str):
        raise Rejected("a malformed S3 event record (no s3.bucket.name or s3.object.key): this function expects "
                       "S3 event notifications as S3 sends them")
    bucket, key = where["bucket"], where["key"]  # the key decoded: "my photo.jpg" arrives as "my+photo.jpg"
    _check_recursion(bucket, key, settings)

    data = read_object(bucket, key, record["s3"]["object"].get("versionId"), settings["memory_budget"])
    body, image_format, (width, height) = make_thumbnail(data, settings["size"], settings["memory_budget"])
    output_key = thumbnail_key(key, image_format, settings["output_prefix"])
    s3.put_object(Bucket=settings["output_bucket"], Key=output_key, Body=body,
                  ContentType=CONTENT_TYPES[image_format])
    logger.info("THUMBNAIL s3://%s/%s -> s3://%s/%s (%dx%d %s, %d -> %d bytes)", bucket, key,
                settings["output_bucket"], output_key, width, height, image_format, len(data), len(body))
    return {"bucket": bucket, "key": key, "output_bucket": settings["output_bucket"], "output_key": output_key,
            "width": width, "height": height, "format": image_format, "bytes": len(body)}


def _check_recursion(bucket, key, settings):
    """Refuse work that would make the function trigger itself forever."""
    if posixpath.basename(key).startswith(THUMB_PREFIX):
        raise Skipped(f"{key!r} is a thumbnail (its name starts with {THUMB_PREFIX!r}); not making a thumbnail of it")
    prefix = settings["output_prefix"]
    if bucket != settings["output_bucket"]:
        return
    if not prefix:
        raise Rejected(f"refusing to write thumbnails into {bucket!r}, the bucket this function reads from: every "
                       "thumbnail would trigger the function again (a recursive loop). Set OUTPUT_BUCKET to another "
                       "bucket, or set OUTPUT_PREFIX and limit the S3 trigger to a different prefix.")
    if key.startswith(prefix):
        raise Skipped(f"{key!r} is under OUTPUT_PREFIX {prefix!r}, where this function writes its thumbnails")


def read_object(bucket, key, version_id, memory_budget):
    """The object's bytes, read into memory; S3 errors other than a missing object are raised (Lambda retries)."""
    extra = {"VersionId": version_id} if version_id else {}
    try:
        response = s3.get_object(Bucket=bucket, Key=key, **extra)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
            raise Skipped(f"s3://{bucket}/{key} no longer exists (deleted before it was processed)") from None
        raise
    size = response["ContentLength"]
    if memory_budget is not None and size > memory_budget // 2:
        response["Body"].close()
        raise Rejected(f"the object is {_mb(size)}, too big to process in this function's memory "
                       f"({_mb(memory_budget)} free): give the function more memory or upload a smaller file")
    return response["Body"].read()


def make_thumbnail(data, size=(150, 150), memory_budget=None):
    """Shrink an encoded image to fit in ``size``; return (encoded bytes, "JPEG" or "PNG", (width, height)).

    Works in memory, lets the JPEG decoder shrink while decoding (``draft``), and does the colour work (EXIF
    rotation, CMYK or 16-bit conversion, colour profile) on the small image. Raises Rejected for bad input.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            return _thumbnail(image, size, memory_budget, len(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Rejected(f"a decompression bomb: the image declares more than {Image.MAX_IMAGE_PIXELS:,} pixels "
                       f"({len(data):,} bytes on disk); refusing to decode it") from None
    except UnidentifiedImageError:
        raise Rejected(f"not an image Pillow can read ({len(data):,} bytes; starts with {data[:8]!r})") from None
    except MemoryError:
        raise Rejected("ran out of memory decoding the image: give the function more memory") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise Rejected(f"a truncated or corrupt image ({type(error).__name__}: {error})") from None


def _thumbnail(image, size, memory_budget, encoded_bytes):
    source_format = image.format
    largest = max(size)
    image.draft(None, (2 * largest, 2 * largest))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale, still >= 2x the box
    needed = encoded_bytes + 2 * image.width * image.height * _bytes_per_pixel(image.mode)
    if memory_budget is not None and needed > memory_budget:
        raise Rejected(f"a {image.width}x{image.height} {image.mode} image needs about {_mb(needed)} to decode; "
                       f"this function has {_mb(memory_budget)} free: give it more memory or upload a smaller image")
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    box = size[::-1] if orientation in (5, 6, 7, 8) else size  # fit the image as it will be shown
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in _BEFORE_RESIZE:
        image = image.convert(_BEFORE_RESIZE[image.mode])
    image.thumbnail(box)  # in place, never enlarges, keeps the aspect ratio; loads (decodes) the image
    ImageOps.exif_transpose(image, in_place=True)  # rotate the small image, not the big one
    output_format = "JPEG" if source_format in ("JPEG", "MPO") else "PNG"
    image, icc_profile = _for_browsers(image, output_format)
    out = io.BytesIO()
    options = {"quality": JPEG_QUALITY, "optimize": True} if output_format == "JPEG" else {}
    image.save(out, output_format, icc_profile=icc_profile, **options)
    return out.getvalue(), output_format, image.size


def _for_browsers(image, output_format):
    """Convert a (small) image to a mode every browser shows in ``output_format``; return it and its ICC profile."""
    icc = image.info.get("icc_profile")
    if image.mode == "CMYK":
        if icc:  # a print profile: convert through it to sRGB for screens
            try:
                srgb = ImageCms.createProfile("sRGB")
                image = ImageCms.profileToProfile(image, io.BytesIO(icc), srgb, outputMode="RGB")
                return image, None
            except (ImageCms.PyCMSError, OSError):
                pass  # a broken profile: fall back to the plain formula
        return image.convert("RGB"), None
    if image.mode in ("I", "F"):
        return _to_8bit(image), None
    alpha = image.mode in ("RGBA", "LA") and output_format == "PNG"
    keep = ("RGBA", "LA", "RGB", "L") if alpha else ("RGB", "L")
    if image.mode not in keep:
        image = image.convert("RGBA" if alpha else "RGB")
    return image, icc


def _to_8bit(image):
    """Scale a 16-bit (or 32-bit, float) grey image to 0-255; Pillow's own convert("L") clips all above 255 to white."""
    low, high = image.getextrema()
    if image.mode == "I" and 0 <= low and high <= 65535:
        low, high = 0, 65535  # 16-bit data: keep its black and white points
    scale = 255 / ((high - low) or 1)
    return image.point(lambda value: (value - low) * scale).convert("L")


def thumbnail_key(key, image_format, output_prefix=""):
    """``photos/vacation.jpg`` -> ``<output_prefix>photos/thumb-vacation.jpg``, the extension matching the format."""
    folder, name = posixpath.split(key)
    stem, extension = posixpath.splitext(name)
    if extension.lower() not in EXTENSIONS[image_format]:
        extension = EXTENSIONS[image_format][0]  # logo.gif -> thumb-logo.png
    return output_prefix + posixpath.join(folder, f"{THUMB_PREFIX}{stem}{extension}")


def _bytes_per_pixel(mode):
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4  # Pillow keeps RGB as 4 bytes


def _mb(n):
    return f"{n / 2**20:.1f} MB"


def _describe(record):
    """The record's bucket and decoded key (S3 URL-encodes keys: "my photo.jpg" arrives as "my+photo.jpg")."""
    try:
        return {"bucket": record["s3"]["bucket"]["name"], "key": unquote_plus(record["s3"]["object"]["key"])}
    except (KeyError, TypeError, AttributeError):
        return {"bucket": None, "key": None}
