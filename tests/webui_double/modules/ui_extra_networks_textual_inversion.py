"""Forge / Neo keep the embeddings in ``modules.ui_extra_networks_textual_inversion.embedding_db``
(A1111 in ``sd_hijack.model_hijack``)."""

from __future__ import annotations

import os

from modules import shared
from modules.textual_inversion.textual_inversion import EmbeddingDatabase

embedding_db = EmbeddingDatabase()
embedding_db.add_embedding_dir(os.path.join(shared.cmd_opts.data_dir, "embeddings"))
