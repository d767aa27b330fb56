"""How long does a power-tuning sweep take, and does it show Lambda's CPU share?

One ``lambdalab.tuning.power_tune`` of the thumbnail function on data/images/vacation.jpg (12.2 MP, through the
emulated S3): 6 memory sizes (128, 256, 512, 1,024, 1,536, 3,008 MB) x 5 invocations, each size starting cold.
Reports the sweep's wall time (target: under 30 s on a 2-core machine), the rows, and the 128 MB / 1,769 MB duration
ratio from a second, small tuning of the same function at those two sizes (expected near 1,769 / 128 = 13.8 for the
CPU-bound part; the S3 GET and PUT are I/O and are not slowed, so the whole handler's ratio is somewhat lower).

    .venv/bin/python benchmarks/bench_tuning.py [--strict]
"""
import argparse
import pathlib
import sys
import time

from lambdalab import aws, tuning
from lambdalab.runtime import LambdaFunction
from lambdalab.triggers.s3 import s3_event

PHOTO = pathlib.Path(__file__).resolve().parent.parent / "data" / "images" / "vacation.jpg"
TARGET_S = 30.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if the sweep misses its target")
    args = parser.parse_args(argv)
    if aws.start().name == "aws":
        sys.exit("This benchmark creates buckets: run it on the emulated backend (unset LAMBDALAB_BACKEND).")
    s3 = aws.client("s3")
    for bucket in ("bench-tuning-photos", "bench-tuning-thumbnails"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="bench-tuning-photos", Key="vacation.jpg", Body=PHOTO.read_bytes())
    function = LambdaFunction("bench-tuning", "lambdalab.handlers.thumbnail.handler", timeout_s=30,
                              environment={"OUTPUT_BUCKET": "bench-tuning-thumbnails"})
    event = s3_event("bench-tuning-photos", "vacation.jpg")

    started = time.perf_counter()
    result = tuning.power_tune(function, event, memory_sizes=tuning.DEFAULT_SIZES, invocations=5)
    wall = time.perf_counter() - started
    print(result)
    for strategy in tuning.STRATEGIES:
        print(f"{strategy:>8}: {result.recommend(strategy)['memory_mb']} MB")
    verdict = "OK" if wall < TARGET_S else "MISSED"
    print(f"\nsweep: 6 sizes x 5 invocations in {wall:.1f} s (target < {TARGET_S:.0f} s): {verdict}")

    pair = tuning.power_tune(function, event, memory_sizes=(128, 1769), invocations=5)
    ratio = pair.row(128)["duration_ms"] / pair.row(1769)["duration_ms"]
    print(f"128 MB / 1,769 MB duration: {pair.row(128)['duration_ms']:.1f} / {pair.row(1769)['duration_ms']:.1f} ms "
          f"= {ratio:.1f}x (the CPU share alone: {1769 / 128:.1f}x; the S3 round trips are not slowed)")
    function.shutdown()
    if args.strict and verdict != "OK":
        sys.exit(1)


if __name__ == "__main__":
    main()
