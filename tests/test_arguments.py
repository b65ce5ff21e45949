"""ArgumentLayout: Generate's positional inputs <-> named task arguments, in both WebUI flavours."""

from __future__ import annotations

import pytest
from webui_double.extensions import ADetailerLike, SelectableEcho

from task_scheduler.webui import arguments
from task_scheduler.webui.arguments import ArgumentError, ArgumentLayout


def layout_of(env, tab="txt2img", **kw) -> ArgumentLayout:
    from modules import img2img, scripts, txt2img

    source = (
        txt2img.txt2img_create_processing if tab == "txt2img" else getattr(img2img, "img2img_function", None)
    )
    source = source or img2img.img2img
    runner = scripts.scripts_txt2img if tab == "txt2img" else scripts.scripts_img2img
    return ArgumentLayout.from_runner(tab, arguments.entry_point_parameters(source), runner, **kw)


def test_entry_point_parameters_follow_the_flavour(webui):
    layout = layout_of(webui)
    assert len(layout.named) == (25 if webui.is_forge else 21)
    assert layout.named == webui.named_parameters("txt2img")
    assert ("distilled_cfg_scale" in layout.named) is webui.is_forge


def test_entry_point_parameters_refuse_an_unexpected_signature():
    def odd(prompt, *args):
        return None

    with pytest.raises(ArgumentError):
        arguments.entry_point_parameters(odd)


@pytest.mark.parametrize("tab", ["txt2img", "img2img"])
def test_split_then_build_gives_back_what_generate_sent(webui, tab):
    webui.add_script(ADetailerLike)
    webui.add_script(SelectableEcho)
    args = webui.generate_args(
        tab,
        prompt="p",
        steps=9,
        seed=3,
        selected_script="Echo",
        script_args_by_title={"Echo": ["hello"], "ADetailer": [True]},
    )
    layout = layout_of(webui, tab)
    cap = layout.split(args[1:])
    assert cap.script_name == "Echo" and cap.script_args["Echo"] == ["hello"]
    assert cap.script_args["ADetailer"][0] is True
    assert cap.params["steps"] == 9 and cap.params["seed"] == 3 and cap.params["prompt"] == "p"
    assert "X/Y/Z plot" not in cap.script_args  # unselected scripts are not stored
    built = layout.build(cap.params, cap.script_args, cap.script_name)
    assert built.values == args[1:] and built.warnings == []


def test_split_refuses_too_few_values(webui):
    with pytest.raises(ArgumentError):
        layout_of(webui).split(["only a prompt"])


def test_build_uses_defaults_and_fallbacks_for_missing_values(webui):
    layout = layout_of(webui)
    built = layout.build({"prompt": "x"}, {}, None)
    values = dict(zip(layout.named, built.values, strict=False))
    assert values["prompt"] == "x" and values["width"] == 512 and values["n_iter"] == 1
    assert built.values[len(layout.named) :] == layout.script_defaults


def test_build_names_scripts_that_are_gone_and_width_changes(webui):
    webui.add_script(ADetailerLike)
    layout = layout_of(webui)
    built = layout.build({}, {"Gone Script": [1, 2], "ADetailer": [True, False, {}, {}, "extra"]}, None)
    assert any("Gone Script" in w and "not installed" in w for w in built.warnings)
    assert any("ADetailer" in w and "dropped" in w for w in built.warnings)
    short = layout.build({}, {"adetailer": [True]}, None)
    assert any("ADetailer" in w and "defaults" in w for w in short.warnings)
    assert layout.build({}, {"adetailer": [True]}, None, partial_ok=True).warnings == []


def test_build_ignores_a_gone_script_that_had_no_values(webui):
    assert layout_of(webui).build({}, {"Controls-less": []}, None).warnings == []


def test_build_refuses_a_missing_selected_script(webui):
    with pytest.raises(ArgumentError, match="Nope"):
        layout_of(webui).build({}, {"Nope": []}, "Nope")


def test_build_refuses_dict_script_args(webui):
    webui.add_script(ADetailerLike)
    with pytest.raises(ArgumentError, match="ADetailer"):
        layout_of(webui).build({}, {"ADetailer": {"enable": True}}, None)


def test_named_defaults_override_the_fallbacks(webui):
    layout = layout_of(webui, named_defaults={"width": 768})
    values = dict(zip(layout.named, layout.build({}, {}, None).values, strict=False))
    assert values["width"] == 768


def test_named_defaults_from_the_generate_inputs(webui):
    layout = layout_of(webui)
    defaults = arguments.named_defaults_from_inputs(layout.named, webui.ui["txt2img"].inputs)
    assert defaults["cfg_scale"] == 7 and defaults["hr_upscaler"] == "Latent"
    assert set(defaults) == set(layout.named)


def test_component_default_turns_index_dropdowns_into_indexes():
    class Dropdown:
        type = "index"
        value = "b"
        choices = ["a", "b"]

    class Pairs:
        type = "index"
        value = "B"
        choices = [("A", "a"), ("B", "b")]

    assert arguments.component_default(Dropdown()) == 1
    assert arguments.component_default(Pairs()) == 1
    assert arguments.component_default(None) == 0


@pytest.mark.parametrize(
    ("given", "extras", "refiner"),
    [
        ({}, None, None),
        ({"subseed": 5, "subseed_strength": 0.3}, True, None),
        ({"seed_resize_from_w": 512, "seed_resize_from_h": 512}, True, None),
        ({"seed_resize_from_w": 512}, None, None),
        ({"subseed_strength": 0.3, "seed_enable_extras": False}, False, None),
        ({"refiner_checkpoint": "b.safetensors", "refiner_switch_at": 0.6}, None, True),
        ({"refiner_checkpoint": "None"}, None, None),
        ({"refiner_checkpoint": "b.safetensors", "enable_refiner": False}, None, False),
    ],
)
def test_complete_lifted_turns_on_seed_extras_and_refiner_like_the_api(given, extras, refiner):
    params = arguments.complete_lifted(dict(given))
    assert params.get("seed_enable_extras") is extras
    assert params.get("enable_refiner") is refiner
