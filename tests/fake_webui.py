"""A small fake WebUI HTTP API on loopback, for the standalone server's tests.

It speaks the parts of ``/sdapi/v1`` the queue uses (txt2img, img2img, extra-single-image,
options, sd-models, scripts, script-info, upscalers, progress, interrupt, skip, unload-checkpoint,
reload-checkpoint, and the lists the checker reads: samplers, schedulers, latent-upscale-modes,
sd-modules (Forge, Neo) or sd-vae (A1111, with ``flavour="a1111"``), prompt-styles, loras,
hypernetworks (not on Neo), embeddings) and answers with real PNGs whose pixels encode the seed
and the selected checkpoint, so a test can tell which backend, model and seed made an image (an
upscale is a Lanczos resize of the image it was sent). A generation can be held open
(``hold()``/``release()``) and the server can be killed abruptly (listening socket and every
open connection closed) and restarted on the same port. ``/custom/...`` routes exist for the
pass-through tests.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, PngImagePlugin


def pixel_for(seed: int, checkpoint: str) -> tuple[int, int, int]:
    """The colour the fake paints for ``seed`` on ``checkpoint`` (tests compute it too)."""
    tag = sum(checkpoint.encode()) % 256
    return (seed % 256, (seed // 256) % 256, tag)


def model_hash(name: str) -> str:
    return f"{zlib.crc32(name.encode()) & 0xFFFFFFFF:08x}"


def png_bytes(width: int, height: int, colour: tuple[int, int, int], infotext: str = "") -> bytes:
    image = Image.new("RGB", (width, height), colour)
    info = PngImagePlugin.PngInfo()
    if infotext:
        info.add_text("parameters", infotext)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


SAMPLERS = [
    ("DPM++ 2M", ["k_dpmpp_2m"]),
    ("DPM++ SDE", ["k_dpmpp_sde"]),
    ("DPM++ 2M SDE", ["k_dpmpp_2m_sde"]),
    ("Euler a", ["k_euler_a", "k_euler_ancestral"]),
    ("Euler", ["k_euler"]),
    ("LMS", ["k_lms"]),
    ("Heun", ["k_heun"]),
    ("DPM2", ["k_dpm_2"]),
    ("DDIM", ["ddim"]),
    ("UniPC", ["unipc"]),
    ("LCM", ["k_lcm"]),
]
SCHEDULERS = [
    ("automatic", "Automatic"),
    ("uniform", "Uniform"),
    ("karras", "Karras"),
    ("exponential", "Exponential"),
    ("sgm_uniform", "SGM Uniform"),
    ("simple", "Simple"),
    ("normal", "Normal"),
    ("beta", "Beta"),
]
LATENT_MODES = ["Latent", "Latent (antialiased)", "Latent (bicubic)", "Latent (nearest)"]


class FakeWebUI:
    def __init__(
        self,
        checkpoints: tuple[str, ...] = ("model-a.safetensors", "model-b.safetensors"),
        *,
        flavour: str = "forge",
    ) -> None:
        self.flavour = flavour
        self.checkpoints = list(checkpoints)
        #: the LoRA folder's names (``/sdapi/v1/loras``), embeddings, hypernetworks, styles, VAEs
        self.loras: list[str] = []
        self.embeddings: list[str] = []
        self.hypernetworks: list[str] = []
        self.styles: list[str] = []
        self.vaes: list[str] = ["ae.safetensors"]
        self.upscalers = ["None", "Lanczos", "Nearest", "R-ESRGAN 4x+"]
        self.selected = self.checkpoints[0] if self.checkpoints else None
        self.scripts = {
            "txt2img": ["extra options", "x/y/z plot"],
            "img2img": ["extra options", "x/y/z plot"],
        }
        self.calls: list[tuple[str, str, Any]] = []
        #: the Authorization header of each request (None when absent), in order
        self.authorizations: list[str | None] = []
        self.generations: list[dict[str, Any]] = []
        self.upscales: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.busy = threading.Event()
        self.interrupted = threading.Event()
        self.skipped = threading.Event()
        self._release = threading.Event()
        self._release.set()
        self._dead = threading.Event()
        self._connections: set[socket.socket] = set()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.step = 0
        self.steps = 0
        self.fail_next: tuple[int, Any] | None = None
        #: A1111's ``/sdapi/v1/unload-checkpoint`` moved the model to RAM: a generation fails
        #: until ``/sdapi/v1/reload-checkpoint`` moves it back (as in A1111)
        self.in_ram = False
        #: answer every request but the generation with 503 (a WebUI that is alive but unwell)
        self.unhealthy = False
        #: seconds each generation takes (for overhead measurements)
        self.delay_s = 0.0
        #: seconds between the end of the job and the answer: the WebUI's API ends the job
        #: (``state.end()``: ``/progress`` says idle, progress 0) and only then encodes the images
        self.encode_s = 0.0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeWebUI:
        fake = self

        class Handler(_Handler):
            webui = fake

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def process_request(self, request, client_address):
                with fake.lock:
                    fake._connections.add(request)
                super().process_request(request, client_address)

            def shutdown_request(self, request):
                with fake.lock:
                    fake._connections.discard(request)
                super().shutdown_request(request)

        self._dead.clear()
        self.server = Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def kill(self) -> None:
        """Die like a crashed process: refuse new connections, drop the open ones mid-answer."""
        self._dead.set()
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self.lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def restart(self) -> FakeWebUI:
        return self.start()

    def stop(self) -> None:
        self._release.set()
        self.kill()

    # -- test controls -------------------------------------------------------------------------

    def hold(self) -> None:
        """Generations wait (after reporting progress) until release(), an interrupt, or death."""
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def list_route(self, name: str) -> Any:
        """The answer of ``GET /sdapi/v1/<name>`` for a list route, None for any other (or one
        this flavour lacks: A1111 has ``sd-vae`` and no ``sd-modules``, Neo no hypernetworks)."""
        lists: dict[str, Any] = {
            "schedulers": [
                {"name": n, "label": label, "aliases": None, "default_rho": -1, "need_inner_model": False}
                for n, label in SCHEDULERS
            ],
            "latent-upscale-modes": [{"name": n} for n in LATENT_MODES],
            "prompt-styles": [{"name": n, "prompt": "", "negative_prompt": ""} for n in self.styles],
            "loras": [
                {"name": n, "alias": n, "path": f"/models/Lora/{n}.safetensors", "metadata": {}}
                for n in self.loras
            ],
            "embeddings": {
                "loaded": {
                    n: {"step": None, "sd_checkpoint": None, "shape": 768, "vectors": 1}
                    for n in self.embeddings
                },
                "skipped": {},
            },
        }
        vae_items = [{"model_name": n, "filename": f"/models/VAE/{n}"} for n in self.vaes]
        lists["sd-vae" if self.flavour == "a1111" else "sd-modules"] = vae_items
        if self.flavour != "neo":
            lists["hypernetworks"] = [
                {"name": n, "path": f"/models/hypernetworks/{n}.pt"} for n in self.hypernetworks
            ]
        return lists.get(name)

    def generate(self, kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        answer = self._job(kind, body)
        if answer is not None and self.encode_s:
            self._dead.wait(self.encode_s)  # the job has ended; the images are being encoded
        return None if self._dead.is_set() else answer

    def _job(self, kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        self.interrupted.clear()
        self.busy.set()
        try:
            self.steps = int(body.get("steps") or 20)
            self.step = self.steps // 2
            if self.delay_s:
                self._dead.wait(self.delay_s)
            while not self._release.wait(0.01):
                if self._dead.is_set() or self.interrupted.is_set():
                    break
            if self._dead.is_set():
                return None
            checkpoint = self.selected or ""
            count = int(body.get("batch_size") or 1) * int(body.get("n_iter") or 1)
            seed = int(body.get("seed", -1))
            if seed == -1:
                seed = 1000 + len(self.generations)
            if self.interrupted.is_set():
                count = min(count, 1)
            width, height = int(body.get("width") or 512), int(body.get("height") or 512)
            seeds = [seed + i for i in range(count)]
            infotexts = [
                f"{body.get('prompt', '')}\nSteps: {self.steps}, Seed: {s}, Size: {width}x{height}, "
                f"Model: {checkpoint}"
                for s in seeds
            ]
            images = [
                base64.b64encode(png_bytes(width, height, pixel_for(s, checkpoint), text)).decode()
                for s, text in zip(seeds, infotexts, strict=True)
            ]
            self.generations.append({"kind": kind, "body": body, "checkpoint": checkpoint, "seeds": seeds})
            info = {"seed": seed, "all_seeds": seeds, "infotexts": infotexts, "sd_model_name": checkpoint}
            return {"images": images, "parameters": {}, "info": json.dumps(info)}
        finally:
            self.step = 0
            self.busy.clear()

    def upscale(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``/extra-single-image``: a Lanczos resize to the size the WebUI's upscalers give."""
        for field in ("upscaler_1", "upscaler_2"):
            name = body.get(field, "None")
            if name not in self.upscalers:  # the WebUI's upscale script asserts; Forge answers so
                error = f"could not find upscaler named {name}"
                return 500, {"error": "AssertionError", "detail": "", "body": "", "message": error}
        image = Image.open(io.BytesIO(base64.b64decode(body["image"])))
        scale = float(body.get("upscaling_resize", 2))
        if body.get("resize_mode", 0) == 1:
            size = (int(body.get("upscaling_resize_w", 512)), int(body.get("upscaling_resize_h", 512)))
            info = f"Postprocess upscale to: {size[0]}x{size[1]}"
        else:
            size = (int(image.width * scale // 8 * 8), int(image.height * scale // 8 * 8))
            info = f"Postprocess upscale by: {scale:g}"
        if body.get("upscaler_1", "None") != "None":
            image = image.resize(size, Image.Resampling.LANCZOS)
            info += f", Postprocess upscaler: {body['upscaler_1']}"
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        self.upscales.append({"body": body, "size": image.size})
        return 200, {"image": base64.b64encode(buffer.getvalue()).decode(), "html_info": f"<p>{info}</p>"}


class _Handler(BaseHTTPRequestHandler):
    webui: FakeWebUI
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        blob = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(blob)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(blob)
        except OSError:
            pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        webui = self.webui
        parts = urlsplit(self.path)
        raw = self._body()
        try:
            body = json.loads(raw) if raw and parts.path.startswith("/sdapi/") else raw
        except ValueError:
            body = raw
        webui.calls.append((self.command, parts.path, body))
        webui.authorizations.append(self.headers.get("authorization"))
        route = (self.command, parts.path)
        if webui.unhealthy and "/txt2img" not in parts.path and "/img2img" not in parts.path:
            return self._send(503, {"detail": "unwell"})
        if parts.path.startswith("/custom/"):
            return self._custom(parts, raw)
        if route in (("POST", "/sdapi/v1/txt2img"), ("POST", "/sdapi/v1/img2img")):
            if webui.fail_next is not None:
                status, detail = webui.fail_next
                webui.fail_next = None
                return self._send(status, {"detail": detail})
            if route[1].endswith("img2img") and not body.get("init_images"):
                return self._send(404, {"detail": "Init image not found"})
            if webui.in_ram:
                return self._send(
                    500,
                    {
                        "error": "RuntimeError",
                        "detail": "",
                        "errors": "Expected all tensors to be on the same device, but found at least two "
                        "devices, cpu and cuda:0!",
                    },
                )
            answer = webui.generate(route[1].rsplit("/", 1)[1], body)
            if answer is None:  # killed mid-call: the connection is already gone
                return None
            return self._send(200, answer)
        if route == ("POST", "/sdapi/v1/extra-single-image"):
            return self._send(*webui.upscale(body))
        if route == ("GET", "/sdapi/v1/upscalers"):
            names = webui.upscalers
            return self._send(200, [{"name": n, "model_name": None, "scale": 4} for n in names])
        if route == ("GET", "/sdapi/v1/sd-models"):
            models = [
                {
                    "title": f"{name} [{model_hash(name)}]",
                    "model_name": name.rsplit(".", 1)[0],
                    "hash": model_hash(name),
                    "sha256": None,
                    "filename": f"/models/{name}",
                    "config": None,
                }
                for name in webui.checkpoints
            ]
            return self._send(200, models)
        if route == ("GET", "/sdapi/v1/scripts"):
            return self._send(200, webui.scripts)
        if route == ("GET", "/sdapi/v1/script-info"):
            info = [
                {
                    "name": name,
                    "is_alwayson": name == "extra options",
                    "is_img2img": tab == "img2img",
                    "args": [],
                }
                for tab in ("txt2img", "img2img")
                for name in webui.scripts[tab]
            ]
            return self._send(200, info)
        if route == ("GET", "/sdapi/v1/samplers"):
            return self._send(200, [{"name": n, "aliases": a, "options": {}} for n, a in SAMPLERS])
        if parts.path.startswith("/sdapi/v1/") and route[0] == "GET":
            listed = webui.list_route(parts.path[len("/sdapi/v1/") :])
            if listed is not None:
                return self._send(200, listed)
        if route == ("GET", "/sdapi/v1/options"):
            return self._send(200, {"sd_model_checkpoint": webui.selected})
        if route == ("POST", "/sdapi/v1/options"):
            wanted = body.get("sd_model_checkpoint")
            if wanted is not None:
                name = str(wanted).split(" [")[0]
                if name not in webui.checkpoints:
                    return self._send(500, {"error": "RuntimeError", "detail": f"model {wanted!r} not found"})
                webui.selected = name
            return self._send(200, None)
        if route == ("GET", "/sdapi/v1/progress"):
            steps = webui.steps if webui.busy.is_set() else 0
            fraction = webui.step / steps if steps else 0.0
            state = {
                "job": "txt2img" if steps else "",
                "job_count": 1 if steps else 0,
                "sampling_step": webui.step,
                "sampling_steps": steps,
            }
            return self._send(
                200,
                {
                    "progress": fraction,
                    "eta_relative": 1.5 if steps else 0,
                    "state": state,
                    "current_image": None,
                    "textinfo": None,
                },
            )
        if route == ("POST", "/sdapi/v1/interrupt"):
            webui.interrupted.set()
            return self._send(200, {})
        if route == ("POST", "/sdapi/v1/skip"):
            webui.skipped.set()
            return self._send(200, None)
        if route == ("POST", "/sdapi/v1/unload-checkpoint"):
            webui.in_ram = True
            return self._send(200, {})
        if route == ("POST", "/sdapi/v1/reload-checkpoint"):
            webui.in_ram = False
            return self._send(200, {})
        return self._send(404, {"detail": "Not Found"})

    def _custom(self, parts: Any, raw: bytes) -> None:
        """Pass-through targets: an echo with odd headers, a gzip body, a slow stream."""
        if parts.path == "/custom/via":
            self._send(200, {"via": self.headers.get_all("via") or []})
            return
        if parts.path == "/custom/echo":
            payload = json.dumps(
                {
                    "method": self.command,
                    "query": parse_qs(parts.query),
                    "body": raw.decode("latin-1"),
                    "x-client": self.headers.get("x-client"),
                    "raw_path": parts.path,
                }
            ).encode()
            self.send_response(418, "I'm a teapot")
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("x-webui", "fake")
            self.send_header("via", "1.0 cache-in-front-of-the-webui")
            self.send_header("set-cookie", "a=1; Path=/")
            self.send_header("set-cookie", "b=2; Path=/")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return
        if parts.path == "/custom/gzip":
            blob = gzip.compress(b"compressed body " * 50, mtime=0)
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(blob)))
            self.end_headers()
            self.wfile.write(blob)
            return
        if parts.path == "/custom/stream":
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for i in range(3):
                chunk = f"data: {i}\n\n".encode()
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
                time.sleep(0.2)
            self.wfile.write(b"0\r\n\r\n")
            return
        self._send(404, {"detail": "Not Found"})


# -- fixtures (import them into a test module to use them) --------------------------------------


def serve_app(app: Any) -> tuple[str, Any]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; returns (url, server)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        raise RuntimeError("the test server did not start")
    server.test_thread = thread
    return f"http://127.0.0.1:{port}", server


def stop_app(server: Any) -> None:
    server.should_exit = True
    server.test_thread.join(10)
