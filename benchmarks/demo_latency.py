"""How long the demo page (`python -m dcgan.demo`) takes to answer, on this machine.

    python benchmarks/demo_latency.py                   # the shipped generators, 20 repeats
    python benchmarks/demo_latency.py --model runs/X/generator.h5 --repeats 50

Rows, each after one warm-up call, over --repeats calls with a new seed each:
  grid 9 / grid any   the 8x8 grid alone, in process (`Demo.grid`: latents, generator, layout)
  page update         what one click draws, in process: grid, latent walk and style row
  over HTTP           the same update through the served page, as a browser makes it: the
                      Gradio app on a free local port, its HTTP API called (queue, PNG
                      encoding) and the grid image downloaded
Needs the demo extra (pip install -e ".[demo]") for the HTTP row.
"""

import json
import os
from pathlib import Path
import platform
import socket
import statistics
import sys
import time
import urllib.request

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def timings(fn, repeats):
    fn(0)  # warm-up
    seconds = []
    for i in range(1, repeats + 1):
        start = time.perf_counter()
        fn(i)
        seconds.append(time.perf_counter() - start)
    return seconds


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call_page(base, data):
    """One page update through Gradio's HTTP API, as a browser makes it: start the event, read
    its result stream, download the grid image. Returns the grid's PNG bytes."""
    post = urllib.request.Request(
        base, data=json.dumps({"data": data}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(post, timeout=60) as r:
        event = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{base}/{event}", timeout=60) as r:
        stream = r.read().decode()
    if "event: complete" not in stream:
        raise SystemExit(f"the page answered with an error: {stream[-300:]}")
    result = json.loads(stream.split("event: complete", 1)[1].split("data:", 1)[1].splitlines()[0])
    with urllib.request.urlopen(result[0]["url"], timeout=60) as r:  # the 8x8 grid
        return r.read()


def over_http(demo, repeats):
    """Seconds per page update through the served app, or None without Gradio."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio  # noqa: F401
    except ImportError:
        return None
    from dcgan.demo_page import build

    page = build(demo)
    port = free_port()
    page.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        ssr_mode=False,
        share=False,
    )
    try:
        base = f"http://127.0.0.1:{port}/gradio_api/call/show"  # this machine only
        draw = [demo.entries[0].name, demo.choices[-1]]  # what the page opens on, a class of it
        return timings(lambda i: call_page(base, [*draw, i, i + 1]), repeats)
    finally:
        page.close()


def main():
    from dcgan.cli import CliParser

    p = CliParser("python benchmarks/demo_latency.py", __doc__)
    p.add_argument("--model", default=None, help="generator for 'any' (default: the shipped one)")
    p.add_argument(
        "--conditional-model", default=None, help="conditional generator (default: shipped)"
    )
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    from dcgan.cli import quiet_tensorflow

    quiet_tensorflow()
    from dcgan.demo_draw import Demo

    start = time.perf_counter()
    demo = Demo.load(args.model, args.conditional_model)
    load = time.perf_counter() - start
    # the entry the page opens on: the shipped digits, or the generators given
    first, last = demo.choices[0], demo.choices[-1]
    rows = [
        (f"grid {last} (8x8)", timings(lambda i: demo.grid(last, i), args.repeats)),
        (f"grid {first} (8x8)", timings(lambda i: demo.grid(first, i), args.repeats)),
        ("page update", timings(lambda i: demo.show(last, i, i + 1), args.repeats)),
    ]
    http = over_http(demo, args.repeats)
    rows.append(("page update over HTTP", http))

    import tensorflow as tf

    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load_avg}; TensorFlow {tf.__version__}; models loaded once in {load:.1f} s"
    )
    print(f"{'':24} {'median ms':>10} {'p90 ms':>8} {'min ms':>8}   ({args.repeats} calls)")
    for name, seconds in rows:
        if seconds is None:
            print(f"{name:24} (skipped: no gradio; pip install -e '.[demo]')")
            continue
        ms = sorted(s * 1000 for s in seconds)
        p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
        print(f"{name:24} {statistics.median(ms):10.0f} {p90:8.0f} {ms[0]:8.0f}")


if __name__ == "__main__":
    from dcgan.cli import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(lambda argv: main())
