"""/history: archived summaries, legacy import/rollback/classify and the Admin 11 check, on the devnet."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
import redis as redis_lib

from chatops.chain.summary import LotterySummary, archive_hash
from tests.commands.test_dualwrite import (
    HASH,
    VECTOR_BCS,
    VECTOR_HASH,
    bare_devnet,
    finalized_hash,
    refused,
)
from tests.fakes.bot import Harness, apply, harness, nothing

VECTOR_HEX = "0x" + VECTOR_BCS.hex()
VECTOR_HASH_HEX = "0x" + VECTOR_HASH.hex()
IMPORT_42 = f"/history import 42 {VECTOR_HEX} {VECTOR_HASH_HEX}"


@pytest.fixture
def bare() -> Iterator[Harness]:
    with bare_devnet() as h:
        yield h


def imported_42(h: Harness) -> None:
    """Lottery 42 imported from the legacy system (spec §12.8 vector)."""
    apply(h, "history::import_legacy_summary_admin", 42, VECTOR_BCS, VECTOR_HASH)


def test_summary_shows_the_archive_and_its_hash(ops: Harness) -> None:
    """summary decodes get_summary and its computed hash equals the contract's archive_slot_hash."""
    reply = ops.run("/history summary 5")
    assert reply.ok, reply
    assert reply.title == "Lottery 5 summary: Finalized"
    assert reply.data is not None
    assert reply.data["archive_hash"] == finalized_hash(ops, 5)
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Event"] == "lottery / daily run 5"
    assert fields["VRF / payout round"] == "Fulfilled / 1"


def test_summary_explains_a_missing_summary_in_words(ops: Harness) -> None:
    """No summary: the 0x6507 table abort is explained, not shown bare."""
    reply = ops.run("/history summary 1")
    assert not reply.ok
    assert reply.title == "Lottery 1: no archived summary"
    assert "0x6507 (table key not found)" in reply.text
    assert "finalize" in reply.text


def test_summary_explains_a_missing_archive(bare: Harness) -> None:
    """Without the ArchiveLedger the 0x1B01 abort is explained."""
    reply = bare.run("/history summary 5")
    assert not reply.ok
    assert "0x1B01" in reply.text
    assert "not initialised" in reply.text


def test_list_is_newest_first_and_paginates(ops: Harness) -> None:
    """list reads history::list_finalized: newest first, skipping `start` ids."""
    assert ops.run("/history list").data == {"ids": [5]}
    imported_42(ops)
    assert ops.run("/history list").data == {"ids": [42, 5]}
    assert ops.run("/history list 1 1").data == {"ids": [5]}


def test_list_limit_is_capped(ops: Harness) -> None:
    """A limit over 1000 is a usage error (the chain would abort 0x1501)."""
    reply = ops.run("/history list 0 5000")
    assert not reply.ok
    assert "<limit>" in reply.title


def test_status_shows_legacy_flag_and_mirror_copy(ops: Harness) -> None:
    """status reads is_legacy_summary and history_bridge::get_summary."""
    fields = {f.label: f.value for f in ops.run("/history status 5").fields}
    assert fields["Legacy import"].startswith("no")
    assert fields["Mirror copy"] == "none in history_bridge"
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    imported_42(ops)
    reply = ops.run("/history status 42")
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Legacy import"] == "yes"
    assert fields["Mirror copy"] == "181 bytes of BCS"
    assert fields["Mirror archive hash"] == VECTOR_HASH_HEX


def test_import_stores_a_legacy_summary(ops: Harness) -> None:
    """import stores the summary flagged legacy and emits LegacySummaryImportedEvent."""
    reply = ops.execute(IMPORT_42)
    assert reply.ok, reply
    assert ops.view("history::is_legacy_summary", "42") == [True]
    [event] = ops.events("LegacySummaryImportedEvent")
    assert (event["lottery_id"], event["archive_hash"]) == ("42", VECTOR_HASH_HEX)
    [summary] = ops.view("history::get_summary", "42")
    assert summary["finalized_at"] == "1732100000"


def test_import_may_overwrite_a_legacy_summary(ops: Harness) -> None:
    """A second import over a legacy summary passes the existing-summary check."""
    imported_42(ops)
    reply = ops.execute(IMPORT_42)
    assert reply.ok, reply
    assert len(ops.events("LegacySummaryImportedEvent")) == 2


def test_import_completes_a_matching_expectation(ops: Harness) -> None:
    """With both abort flags on and the right hash expected, the import completes dual-write."""
    apply(ops, "legacy_bridge::update_flags", True, True, True)
    apply(ops, "legacy_bridge::set_expected_hash", 42, VECTOR_HASH)
    assert ops.execute(IMPORT_42).ok
    [done] = ops.events("ArchiveDualWriteCompletedEvent")
    assert done["lottery_id"] == "42"


def test_import_refuses_trailing_bytes(ops: Harness) -> None:
    """BCS with a trailing byte is not a strict LotterySummary (0x1B0B): refused, nothing sent."""
    data = VECTOR_BCS + b"\x00"
    before = ops.tx_count
    check = refused(ops, f"/history import 42 0x{data.hex()} 0x{archive_hash(data).hex()}")
    assert check.name == "summary decodes as LotterySummary"
    assert check.seen == "1 trailing bytes after the 21 summary fields"
    assert "0x1B0B" in check.required
    assert ops.tx_count == before


def test_import_refuses_truncated_bytes(ops: Harness) -> None:
    """BCS that ends inside a field is refused, naming the field."""
    data = VECTOR_BCS[:-3]
    check = refused(ops, f"/history import 42 0x{data.hex()} 0x{archive_hash(data).hex()}")
    assert check.name == "summary decodes as LotterySummary"
    assert check.seen == "the bytes end inside finalized_at"


def test_import_refuses_another_lotterys_summary(ops: Harness) -> None:
    """The summary's id must equal the lottery id (0x1B08)."""
    before = ops.tx_count
    check = refused(ops, f"/history import 43 {VECTOR_HEX} {VECTOR_HASH_HEX}")
    assert (check.name, check.seen) == ("summary id = lottery-id", "42")
    assert check.required.startswith("43")
    assert ops.tx_count == before


def test_import_refuses_a_wrong_hash(ops: Harness) -> None:
    """sha3_256 of the bytes must equal the given hash (0x1B07)."""
    before = ops.tx_count
    check = refused(ops, f"/history import 42 {VECTOR_HEX} 0x{HASH}")
    assert check.name == "sha3_256(summary) = given hash"
    assert check.seen == VECTOR_HASH_HEX
    assert ops.tx_count == before


def test_import_refuses_to_replace_a_contract_summary(ops: Harness) -> None:
    """Lottery 5 was finalized by the contract; a legacy import over it is refused (0x1B09)."""
    data = dataclasses.replace(LotterySummary.from_bcs(VECTOR_BCS), id=5).bcs()
    before = ops.tx_count
    check = refused(ops, f"/history import 5 0x{data.hex()} 0x{archive_hash(data).hex()}")
    assert check.name == "no summary written by the contract"
    assert check.seen.startswith("a finalized/archived summary 0x")
    assert "0x1B09" in check.required
    assert ops.tx_count == before


def test_import_needs_the_archive(bare: Harness) -> None:
    """Without history::init_history the import is refused before sending."""
    before = bare.tx_count
    check = refused(bare, IMPORT_42)
    assert (check.name, check.seen) == ("history archive initialised", "no ArchiveLedger (0x1B01)")
    assert bare.tx_count == before


def test_import_refuses_a_missing_expectation_that_would_abort(ops: Harness) -> None:
    """abort_on_missing without an expected hash would abort 0x1B05."""
    apply(ops, "legacy_bridge::update_flags", True, False, True)
    before = ops.tx_count
    check = refused(ops, IMPORT_42)
    assert (check.name, check.seen) == ("dual-write expectation", "no expected hash set")
    assert "0x1B05" in check.required
    assert ops.tx_count == before


def test_import_refuses_a_mismatch_that_would_abort(ops: Harness) -> None:
    """abort_on_mismatch with another expected hash would abort 0x1B02."""
    apply(ops, "legacy_bridge::update_flags", True, True, False)
    apply(ops, "legacy_bridge::set_expected_hash", 42, bytes.fromhex(HASH))
    before = ops.tx_count
    check = refused(ops, IMPORT_42)
    assert check.name == "dual-write expectation"
    assert check.seen == "expected 0xabababab…abab, the summary hashes to 0x3f74e9dc…3f5f"
    assert ops.tx_count == before


def test_rollback_deletes_the_legacy_summary(ops: Harness) -> None:
    """rollback removes the imported summary and emits LegacySummaryRolledBackEvent."""
    imported_42(ops)
    reply = ops.execute("/history rollback 42")
    assert reply.ok, reply
    assert ops.view("history::is_legacy_summary", "42") == [False]
    assert ops.view("history::list_finalized", "0", "10") == [["5"]]
    [event] = ops.events("LegacySummaryRolledBackEvent")
    assert event["archive_hash"] == VECTOR_HASH_HEX


def test_rollback_needs_a_summary(ops: Harness) -> None:
    """Nothing archived for 42: refused (0x1B0A on chain), nothing sent."""
    before = ops.tx_count
    check = refused(ops, "/history rollback 42")
    assert check.name == "archived summary exists"
    assert ops.tx_count == before


def test_rollback_refuses_a_contract_summary(ops: Harness) -> None:
    """Lottery 5's summary was written by finalize, not imported: refused (0x1B09)."""
    before = ops.tx_count
    check = refused(ops, "/history rollback 5")
    assert check.name == "summary is legacy (imported)"
    assert check.seen == "written by the contract (finalize/archive)"
    assert ops.tx_count == before


def test_classify_rewrites_type_and_tags(ops: Harness) -> None:
    """classify sets the type and mask of an imported summary; the event carries the new hash."""
    imported_42(ops)
    reply = ops.execute("/history classify 42 2 6")
    assert reply.ok, reply
    [summary] = ops.view("history::get_summary", "42")
    assert (summary["primary_type"], summary["tags_mask"]) == (2, "6")
    [event] = ops.events("LegacySummaryClassificationUpdatedEvent")
    new_hash = LotterySummary.from_json(summary).archive_hash()
    assert event["archive_hash"] == "0x" + new_hash.hex()
    assert reply.title == "Lottery 42: reclassified as jackpot / 0x6"


def test_classify_needs_a_summary(ops: Harness) -> None:
    """Nothing archived for 42: refused, nothing sent."""
    before = ops.tx_count
    assert refused(ops, "/history classify 42 1 2").name == "archived summary exists"
    assert ops.tx_count == before


def test_classify_refuses_a_contract_summary(ops: Harness) -> None:
    """Lottery 5 is not legacy: refused (0x1B09)."""
    before = ops.tx_count
    assert refused(ops, "/history classify 5 1 2").name == "summary is legacy (imported)"
    assert ops.tx_count == before


def test_classify_refuses_an_unknown_primary_type(ops: Harness) -> None:
    """The contract accepts any u8; the bot refuses types outside 0-3."""
    imported_42(ops)
    before = ops.tx_count
    check = refused(ops, "/history classify 42 4 2")
    assert check.name.startswith("primary type known")
    assert "the contract does not validate it" in check.name
    assert (check.seen, check.required) == ("4", "0 basic, 1 partner, 2 jackpot or 3 vip")
    assert ops.tx_count == before


def test_classify_refuses_unknown_tag_bits(ops: Harness) -> None:
    """Bit 5 (32) is no known tag: refused, naming the unknown bits."""
    imported_42(ops)
    before = ops.tx_count
    check = refused(ops, "/history classify 42 0 34")
    assert check.name.startswith("tag bits known")
    assert check.seen == "unknown bits 0x20"
    assert check.required == "only bits of 0x800000000000001f"
    assert ops.tx_count == before


def test_classify_accepts_the_experimental_bit(ops: Harness) -> None:
    """TAG_EXPERIMENTAL (1<<63) is a known bit."""
    imported_42(ops)
    assert ops.execute(f"/history classify 42 3 {1 << 63}").ok


def test_check_passes_for_a_finalized_lottery(ops: Harness) -> None:
    """Admin 11: lottery 5 is archived and no expectation is left."""
    reply = ops.run("/history check 5")
    assert reply.ok, reply
    assert [c.name for c in reply.checks] == ["archived summary exists", "dual-write passed"]


def test_check_fails_without_a_summary(ops: Harness) -> None:
    """Lottery 1 is not archived: the check says so."""
    reply = ops.run("/history check 1")
    assert not reply.ok
    failed = [c for c in reply.checks if not c.ok]
    assert [c.name for c in failed] == ["archived summary exists"]


def test_check_reports_a_mismatch(ops: Harness) -> None:
    """A pending expectation that differs from the archived hash is reported as MISMATCH."""
    apply(ops, "legacy_bridge::set_expected_hash", 5, bytes.fromhex(HASH))
    reply = ops.run("/history check 5")
    assert not reply.ok
    [failed] = [c for c in reply.checks if not c.ok]
    assert failed.name == "dual-write passed"
    assert failed.seen.startswith("MISMATCH: expected 0xabababab")


def test_check_reports_a_matching_expectation_still_pending(ops: Harness) -> None:
    """An expectation set after the write still matches but was never consumed: run mirror."""
    apply(ops, "legacy_bridge::set_expected_hash", 5, bytes.fromhex(finalized_hash(ops, 5)[2:]))
    reply = ops.run("/history check 5")
    [failed] = [c for c in reply.checks if not c.ok]
    assert "still pending" in failed.seen
    assert "/dualwrite mirror" in failed.required


def test_check_reports_an_expectation_without_a_summary(ops: Harness) -> None:
    """An expectation for a lottery never archived means the write has not happened."""
    apply(ops, "legacy_bridge::set_expected_hash", 4, bytes.fromhex(HASH))
    reply = ops.run("/history check 4")
    names = [c.name for c in reply.checks if not c.ok]
    assert names == ["archived summary exists", "dual-write passed"]


@pytest.mark.parametrize(
    ("setup", "line"),
    [
        (nothing, IMPORT_42),
        (imported_42, "/history rollback 42"),
        (imported_42, "/history classify 42 1 2"),
    ],
)
def test_privileged_steps_wait_for_a_second_person(
    ops: Harness, setup: Callable[[Harness], None], line: str
) -> None:
    """Import, rollback and classify pass their checks, then need approval; nothing is sent."""
    setup(ops)
    ops.needs_approval(line)


@pytest.fixture
def two_person(redis: redis_lib.Redis) -> Iterator[Harness]:
    with harness(redis_client=redis) as h:
        yield h


def test_import_runs_after_a_second_person_approves(two_person: Harness) -> None:
    """alice requests the import with a reason, bob approves, and lottery 42 is archived as legacy."""
    requested = two_person.run(f'{IMPORT_42} reason="backfill from the legacy archive"')
    assert requested.state == "pending", requested
    approved = two_person.run(f"/ops approve {requested.request_id}", user="bob")
    assert approved.state == "succeeded", approved
    assert two_person.view("history::is_legacy_summary", "42") == [True]
