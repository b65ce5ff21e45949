"""A1111's ``modules.sd_hijack``: only ``model_hijack.embedding_db`` (the embeddings' names)."""

from __future__ import annotations

import os

from modules import shared
from modules.textual_inversion.textual_inversion import EmbeddingDatabase


class StableDiffusionModelHijack:
    def __init__(self):
        self.embedding_db = EmbeddingDatabase()
        self.embedding_db.add_embedding_dir(os.path.join(shared.cmd_opts.data_dir, "embeddings"))


model_hijack = StableDiffusionModelHijack()
