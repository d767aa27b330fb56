"""Lab 1 checks: the core of the S3 thumbnail function (notebook: solutions/lab01_thumbnail.ipynb).

Task 1 ``decode_key(raw_key)``, task 2 ``make_thumbnail(image_bytes, size=150)``, task 3 ``handler(event, context)``.
Public checks use fixed inputs; hidden checks use keys, sizes and images drawn from the grading run's seed, a
non-image named like an image, and the course's Lambda runtime, so hard-coded answers do not pass them.
Test images are made in memory with Pillow.
"""
from __future__ import annotations

import io
import string
from urllib.parse import quote_plus

from .core import CheckFailed, Lab, Plain, StudentError
from .helpers import call_handler, invoke_in_runtime, keys_in, read, s3_event, scratch_bucket, where_is

LAB = Lab("lab01", "Lab 1: the thumbnail function", "lab01_thumbnail",
          hidden_summary="other keys (spaces, '+', accents, folders), other image sizes and formats, a file that "
                         "is not an image, and your handler running as a Lambda function.")
LAB.task("task1", "Task 1: decode the object key", ["decode_key"])
LAB.task("task2", "Task 2: make the thumbnail", ["make_thumbnail"])
LAB.task("task3", "Task 3: the handler", ["handler"])

EXAMPLE_KEY = ("my+vacation+photo+%281%29.jpg", "my vacation photo (1).jpg")
NOT_AN_IMAGE = b"Meeting notes: bring the quarterly numbers.\n"


# --- helpers -----------------------------------------------------------------------------------------------------

def image_bytes(width: int, height: int, fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    """A small test image (a colour gradient, so it compresses like a photo) encoded as ``fmt``."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((width, height)))
    elif mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    elif mode != "RGB":
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def expected_size(width: int, height: int, box: int) -> tuple[int, int]:
    """Fit (width, height) in box x box, keeping the aspect ratio and never enlarging."""
    scale = min(1.0, box / width, box / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail_key(key: str) -> str:
    """``photos/cat.jpg`` -> ``photos/thumb-cat.jpg`` (the same rule the notebook gives the student)."""
    folder, _, name = key.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{folder}/thumb-{stem}.jpg" if folder else f"thumb-{stem}.jpg"


def open_jpeg(data, call: str):
    """Open ``data`` as an image and insist it is a JPEG; fail the check with a clear message otherwise."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, (bytes, bytearray)):
        hint = ("Save the image into an `io.BytesIO()` with `image.save(buffer, 'JPEG')` and return "
                "`buffer.getvalue()`.")
        raise CheckFailed(f"Expected the JPEG file's bytes, got a {type(data).__name__}.", call=call,
                          expected=Plain("bytes"), actual=Plain(type(data).__name__), hint=hint)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise CheckFailed(f"The bytes returned are not an image Pillow can open ({exc}).", call=call) from None
    if image.format != "JPEG":
        raise CheckFailed("The thumbnail must be a JPEG.", call=call, expected=Plain("JPEG"),
                          actual=Plain(str(image.format)),
                          hint="Pass 'JPEG' to image.save(...), whatever the input format was.")
    return image


def check_thumbnail(ctx, data: bytes, width: int, height: int, size: int = 150):
    """Call the student's make_thumbnail and compare the result's size with the expected fit (1 px of rounding)."""
    kwargs = {} if size == 150 else {"size": size}
    call = f"make_thumbnail(<a {width}x{height} image>{', size=%d' % size if kwargs else ''})"
    image = open_jpeg(ctx.call("make_thumbnail", data, **kwargs), call)
    want = expected_size(width, height, size)
    if any(abs(a - b) > 1 for a, b in zip(image.size, want)) or max(image.size) > size:
        if max(width, height) <= size:
            hint = "Small images stay as they are: a thumbnail is never bigger than the original."
        elif max(image.size) > size:
            hint = "Fit inside size x size: `image.thumbnail((size, size))` does it and keeps the aspect ratio."
        else:
            hint = "Keep the aspect ratio: scale both sides by the same factor, min(size / width, size / height)."
        raise CheckFailed("The thumbnail has the wrong size.", call=call,
                          expected=Plain(f"{want[0]}x{want[1]} pixels"),
                          actual=Plain(f"{image.size[0]}x{image.size[1]} pixels"), hint=hint)
    return image


def upload(bucket: str, key: str, body: bytes) -> None:
    from .. import aws

    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def expect_result(ctx, response, processed: list, rejected: list, call: str):
    """The handler's return value must list the processed and rejected keys (decoded), in event order."""
    if not isinstance(response, dict):
        ctx.fail("The handler should return a dict with the keys it processed and rejected.", call=call,
                 expected={"processed": processed, "rejected": rejected}, actual=response,
                 hint="End the handler with `return {\"processed\": processed, \"rejected\": rejected}`.")
    got = {"processed": dict.get(response, "processed"), "rejected": dict.get(response, "rejected")}
    ctx.expect_equal(got, {"processed": processed, "rejected": rejected}, call=call,
                     message="The handler's result does not list the right keys.",
                     hint="Append each decoded key to `processed` after uploading its thumbnail, or to `rejected` "
                          "when it is not an image.")


def expect_thumbnail(ctx, out_bucket: str, key: str, *, box: int = 150):
    """The thumbnail of ``key`` must be in ``out_bucket``, as a JPEG that fits the box."""
    want = thumbnail_key(key)
    data = read(out_bucket, want)
    if data is None:
        elsewhere = [b for b in where_is(want) if b != out_bucket]
        hint = (f"It is in bucket {elsewhere[0]!r} instead: read the bucket name from os.environ['OUTPUT_BUCKET'] "
                "inside the handler." if elsewhere else
                "Upload with s3.put_object(Bucket=os.environ['OUTPUT_BUCKET'], Key=thumbnail_key(key), Body=...).")
        ctx.fail(f"No thumbnail in the output bucket for {key!r}.",
                 expected=Plain(f"s3://{out_bucket}/{want}"),
                 actual=Plain(f"keys there: {keys_in(out_bucket)}"), hint=hint)
    image = open_jpeg(data, f"s3://{out_bucket}/{want}")
    if max(image.size) > box:
        ctx.fail("The uploaded thumbnail is too big.", expected=Plain(f"at most {box}x{box}"),
                 actual=Plain(f"{image.size[0]}x{image.size[1]}"), hint="Upload what make_thumbnail returns.")


def random_key(rng, *, extension: str = ".jpg") -> str:
    """A key with the characters S3 encodes: spaces, '+', '%', '&', '(', accents and folders."""
    alphabet = string.ascii_letters + string.digits + " +%&()=_-.,'!é"
    parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 10))).strip() or "x"
             for _ in range(rng.randint(1, 3))]
    return "/".join(parts) + extension


# --- task 1: decode_key --------------------------------------------------------------------------------------------

@LAB.check("task1", points=2)
def decodes_the_example(ctx):
    """decode_key turns the key S3 sends into the real object key"""
    raw, want = EXAMPLE_KEY
    got = ctx.call("decode_key", raw)
    ctx.expect_equal(got, want, call=f"decode_key({raw!r})",
                     hint="S3 sends keys URL-encoded with spaces as '+'. urllib.parse.unquote leaves '+' alone; "
                          "unquote_plus turns '+' into a space and %28 into '('.")


@LAB.check("task1", hidden=True)
def decodes_tricky_keys(ctx):
    """decode_key handles a literal '+', '%', accents and folders"""
    keys = ["a+b=c.jpg", "100% real & true.png", "café/crème brûlée.jpeg", "albums/2024/summer (final).jpg"]
    for key in keys:
        for safe in ("/", ""):
            raw = quote_plus(key, safe=safe)
            ctx.expect_equal(ctx.call("decode_key", raw), key, call=f"decode_key({raw!r})",
                             hint="Decode in one step with unquote_plus: replacing '+' after unquoting turns a "
                                  "real '+' (sent as %2B) into a space.")


@LAB.check("task1", hidden=True)
def decodes_random_keys(ctx):
    """decode_key decodes keys it has never seen"""
    for _ in range(20):
        key = random_key(ctx.rng)
        raw = quote_plus(key, safe=ctx.rng.choice(["/", ""]))
        ctx.expect_equal(ctx.call("decode_key", raw), key, call=f"decode_key({raw!r})",
                         hint="Do not return fixed answers: decode whatever key arrives with unquote_plus.")


# --- task 2: make_thumbnail ----------------------------------------------------------------------------------------

@LAB.check("task2", points=2)
def landscape_fits_the_box(ctx):
    """a 600x400 JPEG becomes a 150x100 JPEG"""
    check_thumbnail(ctx, image_bytes(600, 400), 600, 400)


@LAB.check("task2", points=2)
def portrait_keeps_its_shape(ctx):
    """a 240x480 portrait becomes 75x150: the aspect ratio is kept"""
    check_thumbnail(ctx, image_bytes(240, 480), 240, 480)


@LAB.check("task2", hidden=True)
def fits_other_sizes(ctx):
    """other image sizes and other values of size"""
    for _ in range(3):
        width, height = ctx.rng.randint(151, 1400), ctx.rng.randint(151, 1400)
        size = ctx.rng.choice([64, 100, 128, 200, 256])
        check_thumbnail(ctx, image_bytes(width, height), width, height, size)


@LAB.check("task2", hidden=True)
def never_enlarges(ctx):
    """an image smaller than the box keeps its size"""
    width, height = ctx.rng.randint(20, 140), ctx.rng.randint(20, 140)
    check_thumbnail(ctx, image_bytes(width, height), width, height)


@LAB.check("task2", hidden=True)
def converts_png_and_gif(ctx):
    """a transparent PNG and a palette GIF become JPEGs too"""
    for fmt, mode in (("PNG", "RGBA"), ("GIF", "P")):
        width, height = ctx.rng.randint(200, 600), ctx.rng.randint(200, 600)
        try:
            check_thumbnail(ctx, image_bytes(width, height, fmt, mode), width, height)
        except CheckFailed as exc:
            exc.hint = exc.hint or "JPEG has no transparency or palette: image.convert('RGB') before saving."
            raise
        except Exception as exc:
            if "cannot write mode" in str(exc):
                raise CheckFailed(f"A {mode} {fmt} could not be saved as JPEG: {exc}",
                                  hint="JPEG has no transparency or palette: image.convert('RGB') before "
                                       "saving.") from None
            raise


# --- task 3: handler -----------------------------------------------------------------------------------------------

def _run(ctx, objects: dict, *, encode_slash: bool = False):
    """Upload ``objects`` ({key: bytes}) to a scratch bucket and call the handler with one event for all of them."""
    source, output = scratch_bucket(ctx, "uploads"), scratch_bucket(ctx, "thumbs")
    for key, body in objects.items():
        upload(source, key, body)
    event = s3_event(source, list(objects), encode_slash=encode_slash)
    try:
        response, logs = call_handler(ctx, "handler", event, {"OUTPUT_BUCKET": output})
    except StudentError as exc:
        about_images = any(word in exc.details for word in ("UnidentifiedImageError", "OSError", "SyntaxError"))
        if about_images and any(not body.startswith((b"\xff\xd8\xff\xe0\x00", b"\x89PNG", b"GIF8"))
                                for body in objects.values()):
            exc.hint = ("One of the files is not an image. Wrap the work for one record in try/except: on "
                        "PIL.UnidentifiedImageError (or OSError) log the reason, add the key to `rejected` and "
                        "carry on with the next record.")
        raise
    return response, logs, output


@LAB.check("task3", points=3)
def writes_the_thumbnail(ctx):
    """an uploaded photo gets its thumbnail in OUTPUT_BUCKET"""
    response, _, output = _run(ctx, {"photos/cat.jpg": image_bytes(640, 480)})
    expect_thumbnail(ctx, output, "photos/cat.jpg")
    expect_result(ctx, response, ["photos/cat.jpg"], [], "handler(<event for photos/cat.jpg>, context)")


@LAB.check("task3", points=2)
def rejects_a_non_image(ctx):
    """a text file is rejected, not crashed on"""
    response, _, output = _run(ctx, {"notes.txt": NOT_AN_IMAGE})
    expect_result(ctx, response, [], ["notes.txt"], "handler(<event for notes.txt>, context)")
    if keys_in(output):
        ctx.fail("Nothing should be written for a file that is not an image.", expected=[], actual=keys_in(output))


@LAB.check("task3", hidden=True)
def handles_encoded_keys(ctx):
    """keys with spaces, '+' and accents, in folders"""
    keys = [f"trip {ctx.rng.randint(1, 99)}/beach (1).jpg", "café+bar.jpg", random_key(ctx.rng)]
    response, _, output = _run(ctx, {k: image_bytes(300, 200) for k in keys}, encode_slash=ctx.rng.random() < 0.5)
    for key in keys:
        expect_thumbnail(ctx, output, key)
    expect_result(ctx, response, keys, [], "handler(<event with 3 encoded keys>, context)")


@LAB.check("task3", hidden=True)
def handles_a_mixed_batch(ctx):
    """one event with a JPEG, a PNG, a GIF and a broken '.jpg'"""
    objects = {"a.jpg": image_bytes(800, 600), "logo.png": image_bytes(300, 300, "PNG", "RGBA"),
               "broken.jpg": b"\xff\xd8\xff\xe0 not really a JPEG", "anim.gif": image_bytes(160, 90, "GIF", "P")}
    response, _, output = _run(ctx, objects)
    for key in ("a.jpg", "logo.png", "anim.gif"):
        expect_thumbnail(ctx, output, key)
    expect_result(ctx, response, ["a.jpg", "logo.png", "anim.gif"], ["broken.jpg"],
                  "handler(<event with 4 records>, context)")


@LAB.check("task3", hidden=True)
def logs_why_it_rejects(ctx):
    """the log says which key was rejected, and why"""
    key = f"report-{ctx.rng.randint(1000, 9999)}.pdf"
    _, logs, _ = _run(ctx, {key: b"%PDF-1.7 not an image"})
    if key not in logs:
        ctx.fail("The logs do not mention the rejected key.", expected=Plain(f"a line that names {key!r}"),
                 actual=Plain(logs.strip()[-300:] or "(nothing logged)"),
                 hint="logger.warning(\"Skipping %s: not an image\", key) (or print) before moving on.")


@LAB.check("task3", hidden=True, timeout=60)
def runs_as_a_lambda_function(ctx):
    """the handler runs in a Lambda execution environment (a separate process)"""
    source, output = scratch_bucket(ctx, "uploads"), scratch_bucket(ctx, "thumbs")
    key = f"uploads/IMG {ctx.rng.randint(100, 999)}.jpg"
    upload(source, key, image_bytes(500, 500))
    invocation = invoke_in_runtime(ctx, "handler", s3_event(source, [key]), {"OUTPUT_BUCKET": output})
    if not invocation.ok:
        error = invocation.error or {}
        where = (error.get("stackTrace") or [""])[-1].strip().replace("\n", " ")
        ctx.fail(f"The function failed in Lambda: {error.get('errorType')}: {error.get('errorMessage')}"
                 + (f" ({where})" if where else ""),
                 hint="Everything the handler uses must be defined in the notebook or imported; create boto3 "
                      "clients inside the handler.")
    expect_thumbnail(ctx, output, key)
    expect_result(ctx, invocation.response, [key], [], "LambdaFunction(..., handler=handler).invoke(event)")
