"""The jobs routes answer 4xx, never 500, to numbers no parameter can hold and to NaN."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    client,
    finish_all,
    image_runner,
    outputs,
    services,
    settings,
)

JOBS = f"{API}/jobs"
BASE = {"prompt": "x", "cfg_scale": 7.0, "steps": 2}
DIGITS = "9" * 400

AXES = {
    "steps-400-digits": {"type": "steps", "values": [DIGITS]},
    "cfg-400-digits": {"type": "cfg_scale", "values": [DIGITS]},
    "cfg-range-400-digits": {"type": "cfg_scale", "values": f"1-{DIGITS}"},
    "steps-count-400-digits": {"type": "steps", "values": f"1-5 [{DIGITS}]"},
    "seed-400-digits": {"type": "seed", "values": [DIGITS]},
    "seed-json-int": {"type": "seed", "values": [10**400]},
    "cfg-json-int": {"type": "cfg_scale", "values": [10**400]},
    "lora-400-digits": {"type": "lora", "name": "style", "values": DIGITS},
    "denoise-400-digits": {"type": "denoising_strength", "values": [DIGITS]},
    "size-5000-digits": {"type": "size", "values": "9" * 5000 + "x5"},
    "param-400-digits": {"type": "param", "name": "cfg_scale", "values": DIGITS},
    "param-inf": {"type": "param", "name": "cfg_scale", "values": "1e999"},
    "param-nan": {"type": "param", "name": "cfg_scale", "values": "nan"},
}


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("case", sorted(AXES))
def test_axis_values_beyond_any_parameter_are_422(client, queue, case, dry_run):
    response = client.post(JOBS, json={"base": BASE, "axes": [AXES[case]], "dry_run": dry_run})
    assert response.status_code == 422, response.text[:300]
    assert queue.pending() == []


def raw_post(client, path: str, text: str):
    return client.post(path, content=text, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    "body",
    [
        '{"base": {"prompt": "x", "cfg_scale": NaN}, "axes": [{"type": "seed", "values": [1]}], '
        '"dry_run": true}',
        '{"base": {"prompt": "x"}, "axes": [{"type": "cfg_scale", "values": [NaN]}], "dry_run": true}',
        '{"base": {"prompt": "x", "cfg_scale": 7.0}, "axes": [{"type": "param", "name": "cfg_scale", '
        '"values": [NaN]}], "dry_run": true}',
        '{"base": {"prompt": "x", "override_settings": {"k": Infinity}}, "axes": [{"type": "seed", '
        '"values": [1]}], "dry_run": true}',
    ],
)
def test_nan_in_a_dry_run_is_422(client, queue, body):
    response = raw_post(client, JOBS, body)
    assert response.status_code == 422, response.text[:300]


@pytest.mark.parametrize(
    "body",
    [
        '{"action": "img2img", "params": {"cfg_scale": NaN}, "dry_run": true}',
        '{"action": "img2img", "cfg_scale": NaN, "dry_run": true}',
        '{"action": "img2img", "denoising_strength": [NaN], "dry_run": true}',
        '{"action": "upscale", "scale": NaN, "dry_run": true}',
        '{"action": "img2img", "steps": 1e400, "dry_run": true}',
    ],
)
def test_nan_in_a_follow_up_dry_run_is_422(client, queue, executor, image_runner, body):
    job = client.post(JOBS, json={"base": BASE, "axes": [{"type": "seed", "values": [1]}]}).json()
    finish_all(executor)
    response = raw_post(client, f"{JOBS}/{job['id']}/follow-ups", body)
    assert response.status_code == 422, response.text[:300]
    assert queue.pending() == []


@pytest.mark.parametrize("path", [JOBS, f"{JOBS}/x/tasks", f"{API}/history", f"{API}/queue", f"{API}/export"])
def test_an_offset_beyond_64_bits_is_422(client, path):
    assert client.get(f"{path}?offset=9223372036854775808").status_code == 422
