"""Option templates with the WebUI defaults the double (and an extension) reads."""

import os

from modules import paths_internal
from modules.options import OptionInfo, options_section

from webui_double import shim_config

FORGE = shim_config.current.is_forge
_out = paths_internal.default_output_dir


def _outdir(name: str) -> str:
    return os.path.join(_out, name)


options_templates = {}

options_templates.update(
    options_section(
        ("saving-images", "Saving images/grids", "saving"),
        {
            "samples_save": OptionInfo(True, "Always save all generated images"),
            "samples_format": OptionInfo("png", "File format for images"),
            "samples_filename_pattern": OptionInfo("", "Images filename pattern"),
            "save_images_add_number": OptionInfo(True, "Add number to filename when saving"),
            "grid_save": OptionInfo(True, "Always save all generated image grids"),
            "grid_format": OptionInfo("png", "File format for grids"),
            "grid_extended_filename": OptionInfo(
                False, "Add extended info (seed, prompt) to filename when saving grid"
            ),
            "grid_only_if_multiple": OptionInfo(True, "Do not save grids consisting of one picture"),
            "grid_prevent_empty_spots": OptionInfo(
                False, "Prevent empty spots in grid (when set to autodetect)"
            ),
            "n_rows": OptionInfo(
                -1, "Grid row count; use -1 for autodetect and 0 for it to be same as batch size"
            ),
            "enable_pnginfo": OptionInfo(
                True, "Save text information about generation parameters as chunks to png files"
            ),
            "save_txt": OptionInfo(False, "Create a text file with infotext next to every generated image"),
            "save_incomplete_images": OptionInfo(False, "Save incomplete images"),
        },
    )
)

options_templates.update(
    options_section(
        ("saving-paths", "Paths for saving", "saving"),
        {
            "outdir_samples": OptionInfo(
                "", "Output directory for images; if empty, defaults to three directories below"
            ),
            "outdir_txt2img_samples": OptionInfo(
                _outdir("txt2img-images"), "Output directory for txt2img images"
            ),
            "outdir_img2img_samples": OptionInfo(
                _outdir("img2img-images"), "Output directory for img2img images"
            ),
            "outdir_extras_samples": OptionInfo(
                _outdir("extras-images"), "Output directory for images from extras tab"
            ),
            "outdir_grids": OptionInfo(
                "", "Output directory for grids; if empty, defaults to two directories below"
            ),
            "outdir_txt2img_grids": OptionInfo(
                _outdir("txt2img-grids"), "Output directory for txt2img grids"
            ),
            "outdir_img2img_grids": OptionInfo(
                _outdir("img2img-grids"), "Output directory for img2img grids"
            ),
            "outdir_save": OptionInfo(
                os.path.join(paths_internal.data_path, "log", "images"),
                "Directory for saving images using the Save button",
            ),
            "outdir_init_images": OptionInfo(
                _outdir("init-images"), "Directory for saving init images when using img2img"
            ),
        },
    )
)

options_templates.update(
    options_section(
        ("saving-to-dirs", "Saving to a directory", "saving"),
        {
            "save_to_dirs": OptionInfo(False, "Save images to a subdirectory"),
            "grid_save_to_dirs": OptionInfo(False, "Save grids to a subdirectory"),
            "directories_filename_pattern": OptionInfo("[date]", "Directory name pattern"),
        },
    )
)

options_templates.update(
    options_section(
        ("postprocessing", "Postprocessing", "postprocessing"),
        {
            "use_original_name_batch": OptionInfo(
                True, "Use original name for output filename during batch process in extras tab"
            ),
            "use_upscaler_name_as_suffix": OptionInfo(
                False, "Use upscaler name as filename suffix in the extras tab"
            ),
            "postprocessing_disable_in_extras": OptionInfo(
                [], "Disable postprocessing operations in extras tab"
            ),
            "postprocessing_operation_order": OptionInfo([], "Postprocessing operation order"),
            "upscaling_max_images_in_cache": OptionInfo(5, "Maximum number of images in upscaling cache"),
            "postprocessing_existing_caption_action": OptionInfo("Ignore", "Action for existing captions"),
        },
    )
)

options_templates.update(
    options_section(
        ("sd", "Stable Diffusion", "sd"),
        {
            "sd_model_checkpoint": OptionInfo(
                None,
                "(Managed by Forge)" if FORGE else "Stable Diffusion checkpoint",
                infotext="Model" if FORGE else "Model hash",
            ),
            "sd_checkpoints_limit": OptionInfo(1, "Maximum number of checkpoints loaded at the same time"),
            "sd_vae": OptionInfo("Automatic", "SD VAE", infotext="VAE"),
            "CLIP_stop_at_last_layers": OptionInfo(1, "Clip skip", infotext="Clip skip"),
            "eta_noise_seed_delta": OptionInfo(0, "Eta noise seed delta", infotext="ENSD"),
            "sd_checkpoint_dropdown_use_short": OptionInfo(
                False, "Checkpoint dropdown: use filenames without paths"
            ),
            "disable_weights_auto_swap": OptionInfo(
                True, "Ignore checkpoint/modules in infotext when pasting"
            ),
        },
    )
)

options_templates.update(
    options_section(
        ("infotext", "Infotext", "ui"),
        {
            "add_model_hash_to_info": OptionInfo(True, "Add model hash to infotext"),
            "add_model_name_to_info": OptionInfo(True, "Add model name to infotext"),
            "add_user_name_to_info": OptionInfo(False, "Add user name to infotext when authenticated"),
            "add_version_to_infotext": OptionInfo(True, "Add program version to infotext"),
            "infotext_skip_pasting": OptionInfo([], "Disregard fields from pasted infotext"),
            "infotext_styles": OptionInfo("Apply if any", "Infer styles from prompts of pasted infotext"),
        },
    )
)

options_templates.update(
    options_section(
        ("ui", "User interface", "ui"),
        {
            "do_not_show_images": OptionInfo(False, "Do not show any images in gallery"),
            "samples_log_stdout": OptionInfo(False, "Always print all generation info to standard output"),
            "enable_console_prompts": OptionInfo(
                False, "Print prompts to console when generating with txt2img and img2img."
            ),
            "interrupt_after_current": OptionInfo(True, "Don't Interrupt in the middle"),
            "compact_prompt_box": OptionInfo(False, "Compact prompt layout"),
            "return_grid": OptionInfo(True, "Show grid in gallery"),
            "memmon_poll_rate": OptionInfo(0, "VRAM usage polls per second during generation."),
            "show_progress_every_n_steps": OptionInfo(10, "Live preview display period"),
            "live_previews_enable": OptionInfo(False, "Show live previews of the created image"),
            "face_restoration_model": OptionInfo("CodeFormer", "Face restoration model"),
        },
    )
)

options_templates.update(
    options_section(
        ("api", "API", "system"),
        {
            "api_enable_requests": OptionInfo(
                True, "Allow http:// and https:// URLs for input images in API"
            ),
            "api_forbid_local_requests": OptionInfo(True, "Forbid URLs to local resources"),
            "api_useragent": OptionInfo("", "User agent for requests"),
        },
    )
)

if FORGE:
    options_templates.update(
        options_section(
            ("forge", "Forge", "sd"),
            {
                "forge_additional_modules": OptionInfo([], "Forge additional modules (VAE / text encoders)"),
                "forge_unet_storage_dtype": OptionInfo("Automatic", "Forge diffusion in low bits"),
                "forge_preset": OptionInfo("sd", "UI preset"),
                "control_net_unit_count": OptionInfo(3, "ControlNet unit count"),
            },
        )
    )

#: Neo's ``modules_forge.presets.PresetArch`` names (the "UI Preset" dropdown)
NEO_PRESETS = ("sd", "xl", "flux", "klein", "qwen", "lumina", "zit", "wan", "anima", "ernie", "pid", "krea")

if shim_config.current.is_neo:
    for _preset in NEO_PRESETS:  # Neo remembers the model choice per preset
        options_templates.update(
            options_section(
                (f"ui_{_preset}", _preset.upper(), "presets"),
                {
                    f"forge_checkpoint_{_preset}": OptionInfo(None, "Model checkpoint"),
                    f"forge_additional_modules_{_preset}": OptionInfo([], "Additional modules"),
                    f"forge_unet_storage_dtype_{_preset}": OptionInfo("Automatic", "UNet storage dtype"),
                },
            )
        )

restricted_opts = {
    "samples_filename_pattern",
    "directories_filename_pattern",
    "outdir_samples",
    "outdir_txt2img_samples",
    "outdir_img2img_samples",
    "outdir_extras_samples",
    "outdir_grids",
    "outdir_txt2img_grids",
    "outdir_save",
    "outdir_init_images",
}
