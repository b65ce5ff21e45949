"""Test double of Forge's ``backend`` package (only on sys.path in the Forge flavours)."""
