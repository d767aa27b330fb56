"""How many learners fit on one server: one learner's memory after notebook 02, with the backend started.

Runs notebook 02 in a fresh Jupyter kernel (as a learner does), then measures the kernel's resident memory and that of
its child processes (the Lambda execution environments still warm), as RSS and as PSS (proportional set size:
shared library pages divided among the processes that share them, the fairer figure for many kernels on one host).
Prints the figures and how many such learners fit in this machine's available memory, keeping 20 % headroom.

    .venv/bin/python benchmarks/bench_class_memory.py [--notebook notebooks/02_s3_file_processing.ipynb]
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def footprint(pid: int) -> dict:
    """RSS and PSS (MB) of a process and all its descendants, and how many processes that is."""
    process = psutil.Process(pid)
    processes = [process, *process.children(recursive=True)]
    rss = pss = 0
    for p in processes:
        try:
            full = p.memory_full_info()
            rss += full.rss
            pss += getattr(full, "pss", full.rss)
        except psutil.NoSuchProcess:
            pass
    return {"processes": len(processes), "rss_mb": rss / MB, "pss_mb": pss / MB,
            "kernel_rss_mb": process.memory_info().rss / MB}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default=str(ROOT / "notebooks" / "02_s3_file_processing.ipynb"))
    args = parser.parse_args(argv)
    path = pathlib.Path(args.notebook)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        idle = footprint(pid)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        after = footprint(pid)
    available = psutil.virtual_memory().available / MB
    per_learner = after["pss_mb"]
    fit = int(available * 0.8 // per_learner)
    print(f"fresh kernel:            {idle['kernel_rss_mb']:.0f} MB RSS")
    print(f"after {path.name}: kernel {after['kernel_rss_mb']:.0f} MB RSS; with its {after['processes'] - 1} "
          f"worker process(es) {after['rss_mb']:.0f} MB RSS, {after['pss_mb']:.0f} MB PSS")
    print(f"this machine: {psutil.virtual_memory().total / MB:.0f} MB total, {available:.0f} MB available, "
          f"{psutil.cpu_count()} CPUs")
    print(f"learners that fit in 80 % of the available memory: {fit} (at {per_learner:.0f} MB each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
