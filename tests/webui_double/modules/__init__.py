"""Test double of the WebUI's ``modules`` package (see ``webui_double``)."""
