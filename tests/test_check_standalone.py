"""The checker in the standalone server: the catalog from each WebUI's ``/sdapi/v1`` lists."""

from __future__ import annotations

import httpx
import pytest
from fake_webui import FakeWebUI
from standalone_fixtures import API, eventually

from task_scheduler.files import FileStore
from task_scheduler.standalone.remote_runner import RemoteRunner


@pytest.mark.parametrize("flavour", ["forge", "a1111", "neo"])
def test_the_remote_catalog_is_read_from_the_webui_api(tmp_path, flavour):
    webui = FakeWebUI(("model-a.safetensors",), flavour=flavour).start()
    webui.loras = ["detail_tweaker_v2"]
    webui.embeddings = ["easynegative"]
    webui.hypernetworks = ["anime_hn"]
    webui.styles = ["cinematic"]
    runner = RemoteRunner(webui.url, FileStore(tmp_path / "files"), tmp_path / "out")
    try:
        assert runner.catalog() is None  # nothing known before the first health check
        runner.refresh()
        catalog = runner.catalog()
    finally:
        runner.close()
        webui.stop()
    assert "model-a.safetensors [" in catalog.checkpoints[0] and "Euler a" in catalog.samplers
    assert catalog.loras == ("detail_tweaker_v2",) and catalog.embeddings == ("easynegative",)
    assert (
        catalog.styles == ("cinematic",) and "Latent" in catalog.upscalers and "karras" in catalog.schedulers
    )
    assert catalog.hypernetworks == (None if flavour == "neo" else ("anime_hn",))
    assert ("lyco" in catalog.network_kinds) is (flavour == "a1111")
    assert catalog.text_encoders == (
        None if flavour == "a1111" else ("ae.safetensors", "/models/VAE/ae.safetensors")
    )
    assert "x/y/z plot" in catalog.scripts["txt2img"] and "extra options" not in catalog.scripts["txt2img"]


def test_the_server_checks_against_every_webui_it_runs_on(start_server, fakes):
    a, b = fakes
    a.loras = ["detail_tweaker_v2"]
    url, standalone = start_server([a, b])
    assert eventually(lambda: all(bk.runner.catalog() is not None for bk in standalone.pool.backends))
    with httpx.Client(base_url=url, timeout=10) as client:
        client.post(f"{API}/queue/pause")
        body = {"prompt": "a fox <lora:detail_tweeker:1>", "steps": 2, "width": 8, "height": 8}
        warned = client.post(f"{API}/queue/txt2img", json={**body, "checkpoint": "model-b"})
        assert warned.status_code == 201, warned.text
        assert warned.json()["warnings"] == [
            "prompt: no LoRA 'detail_tweeker'; did you mean 'detail_tweaker_v2'?"
        ]
        refused = client.post(f"{API}/queue/txt2img", json={**body, "checkpoint": "model-c"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["checkpoint"]
        assert client.post(f"{API}/queue/txt2img", json={**body, "strict": True}).status_code == 422
        assert client.get(f"{API}/queue").json()["total_pending"] == 1
