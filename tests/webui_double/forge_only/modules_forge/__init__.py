"""Test double of Forge's ``modules_forge`` package (only on sys.path in the Forge flavour)."""
