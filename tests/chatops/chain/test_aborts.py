"""The abort table matches contract_spec.md §8 and decodes vm_status strings to names and meanings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chatops.chain.aborts import AbortInfo, describe, known_aborts, lookup_by_name, parse_vm_status

PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
ROW = re.compile(r"^\| (0x[0-9A-Fa-f]+) \| (\d+) \| (E_\w+) \| ([^|]+) \| (.+) \|$")


def _reference_dir() -> Path | None:
    """shared/reference beside the repository (CI layout), else /work/shared/reference."""
    for shared in (Path(__file__).resolve().parents[3].parent / "shared", Path("/work/shared")):
        if (shared / "reference" / "contract_spec.md").is_file():
            return shared / "reference"
    return None


REFERENCE = _reference_dir()
needs_reference = pytest.mark.skipif(
    REFERENCE is None,
    reason="shared/reference (contract_spec.md) is not checked out beside the repo",
)


def _spec_rows() -> list[tuple[int, str, tuple[str, ...]]]:
    assert REFERENCE is not None
    spec = (REFERENCE / "contract_spec.md").read_text(encoding="utf-8")
    section = spec.split("### 8.2", 1)[1].split("### 8.3", 1)[0]
    rows = []
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match is None:
            continue
        hex_code, _dec, name, raised_in, _meaning = match.groups()
        raised = raised_in.strip()
        modules: tuple[str, ...]
        if raised == "(unused)":
            modules = ()
        elif raised == "all modules with init":
            modules = ("*",)
        else:
            modules = tuple(m.strip() for m in raised.split(","))
        rows.append((int(hex_code, 16), name, modules))
    return rows


def _table() -> dict[tuple[int, str], AbortInfo]:
    return {(a.code, a.name): a for a in known_aborts() if a.name is not None}


@needs_reference
def test_every_spec_code_is_in_the_table_with_its_name_and_modules() -> None:
    """Each of the 119 rows of contract_spec.md §8.2 is in the table with the same name and modules."""
    rows = _spec_rows()
    assert len(rows) == 119
    table = _table()
    for code, name, modules in rows:
        assert (code, name) in table, f"{name} 0x{code:X} missing from abort_codes.json"
        assert table[(code, name)].raised_in == modules, f"{name}: modules differ from the spec"


@needs_reference
def test_every_constant_of_reference_abort_codes_json_is_in_the_table() -> None:
    """Every constant of shared/reference/abort_codes.json is in the table under the same code."""
    assert REFERENCE is not None
    reference = json.loads((REFERENCE / "abort_codes.json").read_text(encoding="utf-8"))["codes"]
    table = _table()
    for constant in reference:
        assert (int(constant["code"], 16), constant["name"]) in table, constant["name"]
    lottery = [a for a in known_aborts() if a.code >= 0x1001 and a.code <= 0x1BFF]
    assert len(lottery) == len(reference) == 119


@needs_reference
def test_table_has_no_code_the_spec_lacks() -> None:
    """The table holds no lottery_multi code that §8.2 does not list (no stale or invented rows)."""
    spec = {(code, name) for code, name, _ in _spec_rows()}
    lottery = {
        (a.code, a.name)
        for a in known_aborts()
        if a.module not in {"table", "history_bridge"} and not a.module.startswith("0x1::")
    }
    assert lottery == spec


MULTISIG_ROW = re.compile(r"^\| (E[^|]+?) \| ([\d /]+) \| (0x[0-9A-F /x]+?) \| .+ \|$")


@needs_reference
def test_every_multisig_abort_of_the_reference_is_in_the_table() -> None:
    """Each abort of multisig_account.md §4 is in the table under 0x1::multisig_account, by name."""
    assert REFERENCE is not None
    text = (REFERENCE / "multisig_account.md").read_text(encoding="utf-8")
    section = text.split("## 4. Abort codes", 1)[1].split("**When execution fails", 1)[0]
    rows: list[tuple[str, int]] = []
    for line in section.splitlines():
        match = MULTISIG_ROW.match(line.strip())
        if match is None:
            continue
        names = [n.strip().split(" ")[0] for n in match[1].split("/")]
        codes = [int(c.strip(), 16) for c in match[3].split("/")]
        rows.extend(zip(names, codes, strict=True))
    assert len(rows) == 22
    for name, code in rows:
        info = describe("0x1::multisig_account", code)
        assert info.name == name, f"0x{code:X}"
        assert info.meaning


def test_framework_multisig_abort_decodes_to_our_meaning() -> None:
    """The node's named form for a multisig abort decodes to our name and operator-facing meaning."""
    info = parse_vm_status(
        "Move abort in 0x1::multisig_account: EINVALID_TIMEOUT_DURATION(0x10016): "
        "Timeout duration must be at least 300 seconds."
    )
    assert info is not None
    assert (info.name, info.module) == ("EINVALID_TIMEOUT_DURATION", "0x1::multisig_account")
    assert info.meaning == "the timeout must be at least 300 seconds"
    proof = parse_vm_status("Move abort in 0x1::account: 0x10008")
    assert proof is not None
    assert proof.name == "EINVALID_PROOF_OF_KNOWLEDGE"
    assert "signed message differs" in proof.meaning


def test_bare_hex_abort_with_full_address_decodes_to_name_and_meaning() -> None:
    """The chain's usual bare-code form decodes to the constant's name and the spec's meaning."""
    info = parse_vm_status(f"Move abort in {PACKAGE}::payouts: 0x1805")
    assert info is not None
    assert (info.name, info.code, info.module) == ("E_PAYOUT_STATE_MISSING", 0x1805, "payouts")
    assert (
        info.render()
        == "E_PAYOUT_STATE_MISSING (0x1805): no winner state: run compute_winners first"
    )


def test_decimal_and_lowercase_codes_decode_like_hex() -> None:
    """A decimal code and a lowercase hex code decode to the same constant."""
    by_decimal = parse_vm_status(f"Move abort in {PACKAGE}::roles: 6153")
    by_hex = parse_vm_status("Move abort in 0xbc95::roles: 0x1809")
    assert by_decimal is not None
    assert by_hex is not None
    assert by_decimal.name == by_hex.name == "E_PAYOUT_BATCH_COOLDOWN"


def test_duplicate_0x1a01_is_resolved_by_module() -> None:
    """0x1A01 is E_AUTOBOT_REGISTRY_MISSING from automation and E_BCS_DECODE elsewhere."""
    assert describe("automation", 0x1A01).name == "E_AUTOBOT_REGISTRY_MISSING"
    assert describe(f"{PACKAGE}::lottery_registry", 0x1A01).name == "E_BCS_DECODE"
    assert describe("views", 0x1A01).name == "E_BCS_DECODE"


def test_signer_check_codes_name_the_package_account() -> None:
    """0x1202, 0x1B04 and automation's 0x1A01 say the signer may not be the package account (§0 fact 8)."""
    assert describe("payouts", 0x1202).meaning == (
        "registry not initialised or signer is not the package account"
    )
    assert "no sales yet" in describe("sales", 0x1202).meaning
    assert "signer is not the package account" in describe("legacy_bridge", 0x1B04).meaning
    assert "signer is not the package account" in describe("automation", 0x1A01).meaning
    assert "signer" not in describe("lottery_registry", 0x1A01).meaning


def test_framework_table_miss_decodes_as_key_not_found() -> None:
    """0x6507 from 0x1::table reads as a missing table key (an unknown lottery id)."""
    info = parse_vm_status("Move abort in 0x1::table: 0x6507")
    assert info is not None
    assert info.module == "0x1::table"
    assert info.name == "ENOT_FOUND"
    assert "not found" in info.meaning
    exists = describe(
        "0x0000000000000000000000000000000000000000000000000000000000000001::table", 0x6407
    )
    assert exists.name == "EALREADY_EXISTS"


def test_history_bridge_not_authorized() -> None:
    """history_bridge's 0x101 is E_NOT_AUTHORIZED, not a lottery_multi code."""
    assert describe(f"{PACKAGE}::history_bridge", 0x101).name == "E_NOT_AUTHORIZED"


def test_named_aptos_form_uses_our_table_for_known_codes() -> None:
    """When the chain prints NAME(0xCODE): text for a known code, our name and meaning win."""
    info = parse_vm_status(f"Move abort in {PACKAGE}::roles: E_WRONG(0x1809): chain text")
    assert info is not None
    assert info.name == "E_PAYOUT_BATCH_COOLDOWN"


def test_named_aptos_form_keeps_chain_name_for_unknown_codes() -> None:
    """A framework abort the table lacks keeps the chain's name and description."""
    info = parse_vm_status(
        "Move abort in 0x1::coin: EINSUFFICIENT_BALANCE(0x10006): Not enough coins"
    )
    assert info is not None
    assert info.render() == "EINSUFFICIENT_BALANCE (0x10006): Not enough coins"


def test_unknown_framework_code_renders_its_category() -> None:
    """A bare framework code is shown with its std::error category and reason, not as a number."""
    info = parse_vm_status("Move abort in 0x1::coin: 0x10006")
    assert info is not None
    assert info.name is None
    assert "INVALID_ARGUMENT" in info.render()
    assert "reason 6" in info.render()


def test_unknown_code_says_so_with_code_and_module() -> None:
    """An unknown code renders as 'unknown abort code 0x… in module m'."""
    info = describe(f"{PACKAGE}::payouts", 0x9999)
    assert info.name is None
    assert info.render() == "unknown abort code 0x9999 in module payouts"


def test_script_abort_form_is_decoded() -> None:
    """The 'Move abort: code 0x…' form (no module) still decodes."""
    info = parse_vm_status("Move abort: code 0x1805")
    assert info is not None
    assert info.code == 0x1805


@pytest.mark.parametrize(
    "vm_status",
    [
        "Executed successfully",
        "Out of gas",
        "",
        "Execution failed in 0xbc95::m::f at code offset 0: MISSING_DATA",
    ],
)
def test_non_abort_statuses_are_not_aborts(vm_status: str) -> None:
    """Statuses that are not Move aborts parse to None."""
    assert parse_vm_status(vm_status) is None


def test_lookup_by_name() -> None:
    """Constants are found by name; an unknown name gives None."""
    info = lookup_by_name("E_PAYOUT_BATCH_COOLDOWN")
    assert info is not None
    assert (info.code, info.module) == (0x1809, "roles")
    assert lookup_by_name("E_NO_SUCH_THING") is None
    automation = lookup_by_name("E_AUTOBOT_REGISTRY_MISSING")
    assert automation is not None
    assert automation.module == "automation"


def test_every_known_abort_renders_with_its_name() -> None:
    """Every table row renders as NAME (0xCODE): meaning, never as a bare number."""
    for info in known_aborts():
        assert info.name is not None
        assert info.render().startswith(f"{info.name} (0x{info.code:X}): ")
        assert info.meaning
