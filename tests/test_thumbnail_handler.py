"""The thumbnail handler called directly (in this process) with real-shaped S3 events, against moto."""
import io
import logging
import pathlib

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from lambdalab import aws
from lambdalab.handlers import thumbnail
from lambdalab.triggers.s3 import s3_event

IMAGES = pathlib.Path(__file__).resolve().parent.parent / "data" / "images"
IN, OUT = "input-bucket", "output-bucket"


@pytest.fixture
def s3(backend, monkeypatch):
    """Two buckets; the handler's module-level client pointed at this test's moto; a clean configuration."""
    client = aws.client("s3")
    for bucket in (IN, OUT):
        client.create_bucket(Bucket=bucket)
    monkeypatch.setattr(thumbnail, "s3", client)
    monkeypatch.setenv("OUTPUT_BUCKET", OUT)
    for name in ("OUTPUT_PREFIX", "THUMBNAIL_SIZE", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"):
        monkeypatch.delenv(name, raising=False)
    return client


def upload(s3, key, name=None, data=None, bucket=IN):
    s3.put_object(Bucket=bucket, Key=key, Body=data if data is not None else (IMAGES / name).read_bytes())


def run(bucket=IN, *keys):
    return thumbnail.handler(s3_event(bucket, *keys), None)


def fetch(s3, key, bucket=OUT):
    obj = s3.get_object(Bucket=bucket, Key=key)
    image = Image.open(io.BytesIO(obj["Body"].read()))
    image.load()
    return image, obj["ContentType"]


def keys(s3, bucket=OUT):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


# --- the image cases ---------------------------------------------------------------------------------------------

def test_12_megapixel_photo_becomes_a_150px_jpeg_and_the_original_is_untouched(s3):
    upload(s3, "photos/vacation.jpg", "vacation.jpg")
    before = s3.head_object(Bucket=IN, Key="photos/vacation.jpg")["ETag"]
    result = run(IN, "photos/vacation.jpg")
    assert [p["output_key"] for p in result["processed"]] == ["photos/thumb-vacation.jpg"]
    assert result["rejected"] == [] and result["skipped"] == []
    image, content_type = fetch(s3, "photos/thumb-vacation.jpg")
    assert (image.format, image.size, content_type) == ("JPEG", (150, 113), "image/jpeg")  # 4032x3024 -> 4:3 kept
    assert "exif" not in image.info  # camera metadata (and any GPS position) is not copied to the thumbnail
    assert s3.head_object(Bucket=IN, Key="photos/vacation.jpg")["ETag"] == before


def test_exif_rotated_photo_is_shown_upright(s3):
    upload(s3, "portrait.jpg", "portrait-rotated.jpg")  # stored 1600x1200 sideways, Orientation 6
    run(IN, "portrait.jpg")
    image, _ = fetch(s3, "thumb-portrait.jpg")
    assert image.size == (113, 150)  # portrait, as a phone shows it
    top, bottom = image.getpixel((56, 2)), image.getpixel((56, 147))
    assert top[2] > top[0] + 60  # blue sky on top
    assert bottom[2] < top[2]  # darker lake at the bottom


def test_png_with_transparency_stays_a_transparent_png(s3):
    upload(s3, "brand/logo.png", "logo-transparent.png")
    run(IN, "brand/logo.png")
    image, content_type = fetch(s3, "brand/thumb-logo.png")
    assert (image.format, image.mode, content_type) == ("PNG", "RGBA", "image/png")
    assert image.getpixel((0, 0))[3] == 0  # transparent background
    assert image.getpixel((75, 56)) == (35, 47, 62, 255)  # opaque centre


def test_cmyk_jpeg_is_converted_to_rgb_with_the_right_colours(s3):
    upload(s3, "print.jpg", "print-cmyk.jpg")
    run(IN, "print.jpg")
    image, _ = fetch(s3, "thumb-print.jpg")
    assert (image.format, image.mode) == ("JPEG", "RGB")
    cyan, magenta, yellow = (image.getpixel((x, 50)) for x in (20, 75, 130))
    assert cyan[0] < 40 and min(cyan[1:]) > 215
    assert magenta[1] < 40 and min(magenta[0], magenta[2]) > 215
    assert yellow[2] < 40 and min(yellow[:2]) > 215


def test_palette_gif_becomes_a_png_with_its_transparency(s3):
    upload(s3, "fun/animation.gif", "animation.gif")
    result = run(IN, "fun/animation.gif")
    assert result["processed"][0]["output_key"] == "fun/thumb-animation.png"  # extension matches the format
    image, content_type = fetch(s3, "fun/thumb-animation.png")
    assert (image.format, image.mode, content_type) == ("PNG", "RGBA", "image/png")
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((image.width // 2, image.height // 2))[:3] == (220, 30, 30)


def test_16_bit_scan_is_scaled_not_clipped_to_white(s3):
    upload(s3, "scan.png", "scan-16bit.png")
    run(IN, "scan.png")
    image, _ = fetch(s3, "thumb-scan.png")
    assert image.mode == "L"
    left, middle, right = (image.getpixel((x, 20)) for x in (0, image.width // 2, image.width - 1))
    assert left < 10 and 110 < middle < 145 and right > 245


def test_small_images_are_never_enlarged(s3):
    small = io.BytesIO()
    Image.new("RGB", (100, 80), "green").save(small, "JPEG")
    upload(s3, "small.jpg", data=small.getvalue())
    run(IN, "small.jpg")
    assert fetch(s3, "thumb-small.jpg")[0].size == (100, 80)


def test_thumbnail_size_comes_from_the_environment(s3, monkeypatch):
    upload(s3, "vacation.jpg", "vacation.jpg")
    monkeypatch.setenv("THUMBNAIL_SIZE", "200x100")
    run(IN, "vacation.jpg")
    assert fetch(s3, "thumb-vacation.jpg")[0].size == (133, 100)


@pytest.mark.parametrize("variable, value, message", [
    ("OUTPUT_BUCKET", "", "OUTPUT_BUCKET is not set"),
    ("THUMBNAIL_SIZE", "big", "THUMBNAIL_SIZE='big' is not a size"),
    ("THUMBNAIL_SIZE", "0", "is not a size"),
])
def test_bad_configuration_is_a_clear_error(s3, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(thumbnail.ConfigurationError, match=message):
        run(IN, "vacation.jpg")


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, reason", [
    ("bad/holiday.jpg", "not an image Pillow can read"),
    ("bad/truncated.jpg", "truncated or corrupt"),
    ("bad/bomb.png", "decompression bomb"),
])
def test_bad_input_is_rejected_with_a_reason_and_the_rest_of_the_event_is_processed(s3, caplog, name, reason):
    upload(s3, "uploads/bad.jpg", name)
    upload(s3, "uploads/good.jpg", "vacation.jpg")
    original = s3.get_object(Bucket=IN, Key="uploads/bad.jpg")["Body"].read()
    with caplog.at_level(logging.INFO, logger=thumbnail.__name__):
        result = run(IN, "uploads/bad.jpg", "uploads/good.jpg")
    assert [r["key"] for r in result["rejected"]] == ["uploads/bad.jpg"]
    assert reason in result["rejected"][0]["reason"]
    assert [p["key"] for p in result["processed"]] == ["uploads/good.jpg"]
    assert keys(s3) == ["uploads/thumb-good.jpg"]
    assert s3.get_object(Bucket=IN, Key="uploads/bad.jpg")["Body"].read() == original  # untouched
    assert f"REJECTED s3://{IN}/uploads/bad.jpg: " in caplog.text and reason in caplog.text


def test_image_too_big_for_the_memory_size_is_rejected_before_decoding(s3, monkeypatch):
    upload(s3, "poster.png", "bad/too-big.png")  # 81 MP: ~650 MB to decode and shrink
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    result = run(IN, "poster.png")
    reason = result["rejected"][0]["reason"]
    assert "9000x9000" in reason and "give it more memory" in reason


def test_object_too_big_to_read_into_memory_is_rejected_without_reading_it(s3, monkeypatch):
    upload(s3, "vacation.jpg", "vacation.jpg")  # 2.1 MB
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(thumbnail.RUNTIME_OVERHEAD_MB + 2))  # 2 MB free
    result = run(IN, "vacation.jpg")
    assert "too big to process in this function's memory" in result["rejected"][0]["reason"]


def test_records_that_are_not_s3_records_are_rejected(s3):
    result = thumbnail.handler({"Records": [{"eventSource": "aws:sqs", "body": "hi"}]}, None)
    assert "not an S3 event record" in result["rejected"][0]["reason"]


# --- keys --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, expected", [
    ("my vacation photo (1).jpg", "thumb-my vacation photo (1).jpg"),  # arrives as my+vacation+photo+%281%29.jpg
    ("1+1=2.jpg", "thumb-1+1=2.jpg"),  # a real plus arrives as %2B
    ("été/café ☕.jpg", "été/thumb-café ☕.jpg"),  # unicode arrives %-encoded as UTF-8
    ("a/b/c/deep.jpeg", "a/b/c/thumb-deep.jpeg"),  # the prefix is kept, so is the extension's spelling
    ("no-extension", "thumb-no-extension.jpg"),
    ("really-a-png.jpg", None),
])
def test_keys_are_decoded_and_thumbnails_named_beside_them(s3, key, expected):
    upload(s3, key, "logo-transparent.png" if key == "really-a-png.jpg" else "vacation.jpg")
    result = run(IN, key)
    assert result["processed"][0]["key"] == key
    assert keys(s3) == [expected or "thumb-really-a-png.png"]


def test_the_event_key_really_is_url_encoded(s3):
    record = s3_event(IN, "my vacation photo (1).jpg")["Records"][0]
    assert record["s3"]["object"]["key"] == "my+vacation+photo+%281%29.jpg"


# --- recursion guard ---------------------------------------------------------------------------------------------

def test_refuses_to_write_into_its_own_bucket_without_a_prefix(s3, monkeypatch):
    monkeypatch.setenv("OUTPUT_BUCKET", IN)
    upload(s3, "vacation.jpg", "vacation.jpg")
    result = run(IN, "vacation.jpg")
    assert "recursive loop" in result["rejected"][0]["reason"]
    assert keys(s3, IN) == ["vacation.jpg"]


def test_same_bucket_with_an_output_prefix_works_and_skips_its_own_outputs(s3, monkeypatch):
    monkeypatch.setenv("OUTPUT_BUCKET", IN)
    monkeypatch.setenv("OUTPUT_PREFIX", "thumbnails")  # the trailing / is added
    upload(s3, "uploads/vacation.jpg", "vacation.jpg")
    result = run(IN, "uploads/vacation.jpg")
    assert result["processed"][0]["output_key"] == "thumbnails/uploads/thumb-vacation.jpg"
    again = run(IN, "thumbnails/uploads/thumb-vacation.jpg")  # the event its own write causes
    assert again["processed"] == [] and "thumb-" in again["skipped"][0]["reason"]
    assert "under OUTPUT_PREFIX" in run(IN, "thumbnails/other.jpg")["skipped"][0]["reason"]


def test_never_makes_a_thumbnail_of_a_thumbnail(s3):
    upload(s3, "photos/thumb-vacation.jpg", "vacation.jpg")
    result = run(IN, "photos/thumb-vacation.jpg")
    assert result["skipped"][0]["key"] == "photos/thumb-vacation.jpg" and keys(s3) == []


# --- S3 errors, removals, duplicates ------------------------------------------------------------------------------

def test_a_deleted_object_is_skipped(s3):
    assert "no longer exists" in run(IN, "gone.jpg")["skipped"][0]["reason"]


def test_removal_events_are_skipped(s3):
    event = s3_event(IN, "vacation.jpg", event_name="ObjectRemoved:Delete")
    assert "removed" in thumbnail.handler(event, None)["skipped"][0]["reason"]


@pytest.mark.parametrize("code", ["SlowDown", "InternalError", "AccessDenied"])
def test_s3_errors_are_raised_so_lambda_retries(s3, monkeypatch, code):
    def failing(**_):
        raise ClientError({"Error": {"Code": code, "Message": "simulated"}}, "GetObject")

    monkeypatch.setattr(thumbnail.s3, "get_object", failing)
    with pytest.raises(ClientError, match=code):
        run(IN, "vacation.jpg")


def test_processing_the_same_event_twice_gives_the_same_thumbnail(s3):
    upload(s3, "vacation.jpg", "vacation.jpg")
    run(IN, "vacation.jpg")
    first = s3.get_object(Bucket=OUT, Key="thumb-vacation.jpg")["Body"].read()
    run(IN, "vacation.jpg")
    assert s3.get_object(Bucket=OUT, Key="thumb-vacation.jpg")["Body"].read() == first
    assert keys(s3) == ["thumb-vacation.jpg"]


def test_the_sample_set_covers_the_real_world_cases():
    def opened(name):
        with Image.open(IMAGES / name) as image:
            return image.format, image.mode, image.size, image.getexif().get(0x0112)

    fmt, mode, (w, h), _ = opened("vacation.jpg")
    assert fmt == "JPEG" and w * h >= 12_000_000 and (IMAGES / "vacation.jpg").stat().st_size < 5_000_000
    assert opened("portrait-rotated.jpg")[3] == 6
    assert opened("logo-transparent.png")[:2] == ("PNG", "RGBA")
    assert opened("print-cmyk.jpg")[:2] == ("JPEG", "CMYK")
    assert opened("animation.gif")[:2] == ("GIF", "P")
    assert opened("scan-16bit.png")[:2] == ("PNG", "I;16")
    assert "CC0" in (IMAGES / "README.md").read_text()


def test_malformed_records_are_rejected_and_the_others_still_processed(s3):
    """A record without s3.bucket.name or s3.object.key used to raise KeyError: the whole event failed and was retried."""
    upload(s3, "vacation.jpg", "vacation.jpg")
    event = s3_event(IN, "vacation.jpg")
    event["Records"][:0] = [{"eventSource": "aws:s3", "s3": {"object": {"key": "x.jpg"}}}, "not even a dict"]
    result = thumbnail.handler(event, None)
    assert [p["key"] for p in result["processed"]] == ["vacation.jpg"]
    assert len(result["rejected"]) == 2 and "malformed" in result["rejected"][0]["reason"]
