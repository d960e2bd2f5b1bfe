"""Kubernetes' ``DefaultNormalizeScore``: rescale raw scores to 0-100 over the candidates."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["default_normalize"]


def default_normalize(scores: npt.NDArray[np.int64], *, reverse: bool) -> npt.NDArray[np.int64]:
    """``100 * score // max`` (the raw scores are non-negative), then ``100 - s`` when
    ``reverse``. All zeros stay zeros, or become 100 when reversed."""
    scores = np.asarray(scores, dtype=np.int64)
    highest = int(scores.max()) if scores.size else 0
    if highest <= 0:
        return np.full(scores.shape, 100, dtype=np.int64) if reverse else scores
    scaled = 100 * scores // highest
    return 100 - scaled if reverse else scaled
