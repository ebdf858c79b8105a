"""`python -m dcgan.demo`: a local page to play with the generators in a browser.

    pip install -e ".[demo]" && python -m dcgan.demo        # then open http://127.0.0.1:7860
    python -m dcgan.demo --model runs/X/generator.h5 --conditional-model runs/Y/generator.h5

Pick what to draw (Digits: the shipped MNIST generators; Clothes: the shipped conditional
Fashion-MNIST one; Your models: those given with --model / --conditional-model, with their runs'
class names and image shapes), a class by its name or "any" (the unconditional generator), and a
seed, and the page shows an 8x8 grid; a latent walk from the grid's first image to the first
image of another seed's grid; and the conditional generator's classes from the grid's first
noise vector, so all share one style (with "any", that style is not the grid's: the grid comes
from the other generator, and the page says so). A typed seed draws as it is typed, no Enter
needed, and an emptied box says so at once; "New digits" picks a new random seed and shows it
in the seed box. A seed that is not a whole number from 0 to 2**31 - 1 (3.5, -1, abc, 1e400,
an empty box) is a message in the page, never rounded: the seed boxes are text boxes, so
whatever is typed reaches the page's own check. Uploads over 1 kB are refused (the page takes
none) and Gradio deletes the images it drew once they are ten minutes old. The models load
once, when the page starts.

What it draws is `dcgan.demo_draw`'s, the page is `dcgan.demo_page`'s; this module is the
command line and the server.
"""

import errno
import importlib.util
import os
from pathlib import Path
import socket

from dcgan.cli import CliParser, UsageError, quiet_tensorflow, run_cli
from dcgan.demo_draw import Demo
from dcgan.demo_page import MAX_FILE_SIZE, build
from dcgan.files import ENV
from dcgan.settings import MODEL_HELP


def port_arg(text):
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"--port {text!r}: pass a port number 1-65535")
    return int(text)


def parser():
    p = CliParser("python -m dcgan.demo", __doc__)
    a = p.add_argument
    a(
        "--model",
        default=None,
        help=f"{MODEL_HELP} that draws any image, offered as 'Your models' beside the shipped "
        f"ones (default: ${ENV['generator']}, else only the shipped ones)",
    )
    a(
        "--conditional-model",
        default=None,
        help="conditional generator (any run's: its classes are named by its run's settings), "
        f"offered as 'Your models' (default: ${ENV['conditional_generator']}, else only the "
        "shipped ones)",
    )
    a(
        "--host",
        default="127.0.0.1",
        help="address to serve on; 0.0.0.0: every interface (default: 127.0.0.1)",
    )
    a("--port", default="7860", help="port to serve on (default: 7860)")
    return p


def check_port(host, port):
    """UsageError unless `host` is an address of this machine and `port` on it is free to serve
    on; the message says which of the two to change."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError, ValueError) as e:  # gaierror is an OSError
        why = getattr(e, "strerror", None) or " ".join(str(e).split())
        raise UsageError(
            f"--host {host!r} is not an address this machine can serve on ({why}): "
            "pass another --host, such as 127.0.0.1 or 0.0.0.0"
        ) from None
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name != "nt":
            # As the server binds (uvicorn sets it too): a port whose last server stopped with
            # a browser tab open holds only TIME_WAIT connections, and serves again at once;
            # one with a listener is still refused. (On Windows it would share a busy port.)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            why = e.strerror or " ".join(str(e).split())
            if e.errno == errno.EADDRNOTAVAIL:  # a valid address, but not one of this machine's
                raise UsageError(
                    f"--host {host!r} is not an address of this machine ({why}): "
                    "pass another --host, such as 127.0.0.1 or 0.0.0.0"
                ) from None
            raise UsageError(
                f"cannot serve on {host}:{port} ({why}): "
                "pass another --port, or stop what uses this one"
            ) from None


def launch_options(host, port):
    """What `main` passes to Gradio's launch (besides the theme): where to serve, no share link,
    no browser, and uploads capped at MAX_FILE_SIZE (the page takes none)."""
    return dict(
        server_name=host,
        server_port=port,
        ssr_mode=False,
        share=False,
        inbrowser=False,
        footer_links=[],
        max_file_size=MAX_FILE_SIZE,
        prevent_thread_lock=True,
        quiet=True,
    )


def install_hint(package_dir=None):
    """How to install Gradio where the project is: the demo extra of the checkout it runs from
    (editable), else of the installed package."""
    root = Path(package_dir or Path(__file__).resolve().parent).parent
    if (root / "pyproject.toml").is_file() and (root / "dcgan" / "demo.py").is_file():
        return 'pip install -e ".[demo]" in ' + str(root)
    return 'pip install "dcgan[demo]"'


def main(argv=None):
    args = parser().parse_args(argv)
    args.port = port_arg(args.port)
    check_port(args.host, args.port)
    if importlib.util.find_spec("gradio") is None:
        raise UsageError(f"the demo needs Gradio: {install_hint()}")

    quiet_tensorflow()
    demo = Demo.load(args.model, args.conditional_model)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # a local page phones no one
    import gradio as gr

    page = build(demo)
    # System fonts: the default theme would fetch its fonts from the web.
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    try:
        page.launch(**launch_options(args.host, args.port), theme=theme)
    except OSError as e:  # the port was taken since check_port
        raise UsageError(
            f"cannot serve on {args.host}:{args.port} ({' '.join(str(e).split())}): "
            "pass another --port"
        ) from None
    print(f"serving the demo on http://{args.host}:{args.port} (Ctrl+C stops it)", flush=True)
    try:
        page.block_thread()
    finally:
        page.close()
    return 0


def cli():
    """The `dcgan-demo` console command."""
    run_cli(main)


if __name__ == "__main__":
    cli()
