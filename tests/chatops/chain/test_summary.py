"""chatops.chain.summary: LotterySummary BCS and archive hash against the spec's test vector."""

from __future__ import annotations

import pytest

from chatops.chain.summary import LotterySummary, SummaryDecodeError, archive_hash

# spec §12.8: canceled lottery 42, no sales, archived at 1732100000.
VECTOR = bytes.fromhex(
    "2a0000000000000007076c6f7474657279056461696c792a000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000020000000000000020174a464c69ae5bfb"
    "e2bd04cb082187d11366e4985625e5c5594281a14a72260620b1462363aa1e60ef80560bebfbb69ac129c137ef"
    "97e3649e5f022d218475e4570000000000000000000000013d6700000000a0bf3d6700000000a0bf3d67000000"
    "00"
)
VECTOR_HASH = "3f74e9dc98696c4df24c518081ca530836de456c3eab8b0b6991a876ccfc3f5f"


def test_vector_decodes_and_re_encodes_byte_for_byte() -> None:
    """The 181-byte vector decodes to lottery 42 and encodes back to the same bytes and hash."""
    summary = LotterySummary.from_bcs(VECTOR)
    assert (summary.id, summary.status, summary.event_slug) == (42, 7, b"lottery")
    assert summary.finalized_at == 1732100000
    assert summary.bcs() == VECTOR
    assert summary.archive_hash().hex() == VECTOR_HASH


def test_json_round_trip_keeps_the_hash() -> None:
    """The chain-JSON form (u64 strings, 0x bytes) parses back to the same summary."""
    summary = LotterySummary.from_bcs(VECTOR)
    view = summary.to_json()
    assert view["id"] == "42"
    assert view["status"] == 7
    assert view["winners_batch_hash"] == "0x"
    assert LotterySummary.from_json(view) == summary


def test_json_with_a_missing_or_bad_field_is_refused() -> None:
    """A view without a field, or with a non-number u64, is a SummaryDecodeError."""
    view = LotterySummary.from_bcs(VECTOR).to_json()
    with pytest.raises(SummaryDecodeError, match="lacks tags_mask"):
        LotterySummary.from_json({k: v for k, v in view.items() if k != "tags_mask"})
    with pytest.raises(SummaryDecodeError, match="run_id is not a whole number"):
        LotterySummary.from_json({**view, "run_id": "x"})
    with pytest.raises(SummaryDecodeError, match="snapshot_hash is not 0x hex"):
        LotterySummary.from_json({**view, "snapshot_hash": "zz"})


def test_decoding_is_strict_about_length() -> None:
    """Trailing bytes, a truncated field and an overrunning length are all refused."""
    with pytest.raises(SummaryDecodeError, match="1 trailing bytes"):
        LotterySummary.from_bcs(VECTOR + b"\x00")
    with pytest.raises(SummaryDecodeError, match="end inside finalized_at"):
        LotterySummary.from_bcs(VECTOR[:-1])
    with pytest.raises(SummaryDecodeError, match="length of event_slug overruns"):
        LotterySummary.from_bcs(VECTOR[:9] + b"\xff\x01")


def test_non_canonical_lengths_are_accepted_like_the_contract() -> None:
    """A ULEB128 length with a redundant continuation byte decodes, as the Move reader allows.

    The hash of such bytes differs from the hash of the canonical re-encoding, which is why the
    import check hashes the bytes as given.
    """
    loose = VECTOR[:9] + b"\x87\x00" + VECTOR[10:]
    summary = LotterySummary.from_bcs(loose)
    assert summary.event_slug == b"lottery"
    assert summary.bcs() == VECTOR
    assert archive_hash(loose) != summary.archive_hash()
