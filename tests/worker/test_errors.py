"""One class per contract reason and one reason per class."""

from __future__ import annotations

import imgix_worker.errors as errors

CONTRACT_REASONS = {
    "SourceFormatUnsupported",
    "RenditionFormatUnsupported",
    "SourceUnsupported",
    "SourceCorrupt",
    "RenditionTooLarge",
    "GenericError",
    "RenditionInstructionsError",
}


def test_every_reason_has_exactly_one_class() -> None:
    classes = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.RenditionError) and obj is not errors.RenditionError
    ]
    assert sorted(c.reason for c in classes) == sorted(CONTRACT_REASONS)
    assert set(errors.REASONS) == CONTRACT_REASONS
    assert all(errors.REASONS[c.reason] is c for c in classes)


def test_all_lists_every_exception() -> None:
    public = sorted(n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, Exception))
    assert len(set(errors.__all__)) == len(errors.__all__)
    assert set(public) <= set(errors.__all__)
