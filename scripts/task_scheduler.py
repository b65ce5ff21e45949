"""Task Scheduler: WebUI callbacks only; everything they do lives in task_scheduler.webui.extension."""

from modules import script_callbacks

from task_scheduler.webui import extension

script_callbacks.on_ui_settings(extension.on_ui_settings)
script_callbacks.on_ui_tabs(extension.on_ui_tabs)
script_callbacks.on_after_component(extension.on_after_component)
script_callbacks.on_app_started(extension.on_app_started)
script_callbacks.on_image_saved(extension.on_image_saved)
script_callbacks.on_model_loaded(extension.on_model_loaded)
script_callbacks.on_before_reload(extension.on_before_reload)
script_callbacks.on_script_unloaded(extension.on_script_unloaded)
