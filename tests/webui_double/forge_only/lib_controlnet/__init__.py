"""Stand-in for Forge's built-in ``sd_forge_controlnet`` library (Forge flavour only)."""
