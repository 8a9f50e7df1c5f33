"""Generate chatops/chain/abort_codes.json from shared/reference (contract_spec.md §8, abort_codes.json,
multisig_account.md §4).

Run once by hand when the reference changes: ``.venv/bin/python scripts/make_abort_codes.py``.
tests/chatops/chain/test_aborts.py checks the committed file against the same reference.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "chatops" / "chain" / "abort_codes.json"

# One row of the §8.2 table: | Hex | Dec | Name | Raised in | Meaning |
ROW = re.compile(r"^\| (0x[0-9A-Fa-f]+) \| (\d+) \| (E_\w+) \| ([^|]+) \| (.+) \|$")

# §8.1 "Other aborts the bot will meet" that carry a code (VM statuses carry none and are not here).
OTHER = [
    {
        "name": "ENOT_FOUND",
        "code": "0x6507",
        "module": "0x1::table",
        "meaning": "table key not found: unknown lottery id, or no draw or summary for this id",
    },
    {
        "name": "EALREADY_EXISTS",
        "code": "0x6407",
        "module": "0x1::table",
        "meaning": "table key already exists",
    },
    {
        "name": "E_NOT_AUTHORIZED",
        "code": "0x101",
        "module": "history_bridge",
        "meaning": "init_bridge called by a signer other than the package account",
    },
    {
        "name": "E_KEY_EXISTS",
        "code": "0x1",
        "module": "table",
        "meaning": "vrf_hub iterable table: key already exists (should not occur)",
    },
    {
        "name": "E_KEY_NOT_FOUND",
        "code": "0x2",
        "module": "table",
        "meaning": "vrf_hub iterable table: key not found (should not occur)",
    },
]


# 0x1::multisig_account (shared/reference/multisig_account.md §4) and the framework aborts met while
# converting an account (its proof is checked by 0x1::account and 0x1::ed25519). The node prints
# these with the framework's own names; the meanings here say what the operator should do.
MULTISIG = "0x1::multisig_account"
FRAMEWORK_OTHER = [
    (MULTISIG, "EDUPLICATE_OWNER", 0x10001, "an owner is listed twice"),
    (MULTISIG, "EACCOUNT_NOT_MULTISIG", 0x307D2, "the account is not a multisig account (not converted yet?)"),
    (MULTISIG, "ENOT_OWNER", 0x507D3, "the signer is not an owner of the multisig account"),
    (MULTISIG, "EPAYLOAD_CANNOT_BE_EMPTY", 0x10004, "a proposal's payload cannot be empty"),
    (MULTISIG, "ENOT_ENOUGH_OWNERS", 0x30005, "the change would leave fewer owners than the signatures required"),
    (MULTISIG, "ETRANSACTION_NOT_FOUND", 0x607D6, "no pending proposal has this number (already executed or cleared, or never created)"),
    (MULTISIG, "EPAYLOAD_DOES_NOT_MATCH_HASH", 0x107D8, "the payload sent does not match the proposal's stored hash"),
    (MULTISIG, "ENOT_ENOUGH_APPROVALS", 0x107D9, "the proposal lacks approvals, or has timed out and must be cleared"),
    (MULTISIG, "EPAYLOAD_DOES_NOT_MATCH", 0x107DA, "the payload sent differs from the proposal's stored payload"),
    (MULTISIG, "ENOT_ENOUGH_REJECTIONS", 0x3000A, "the head proposal is neither rejected by enough owners nor timed out, so it cannot be cleared"),
    (MULTISIG, "EINVALID_SIGNATURES_REQUIRED", 0x1000B, "the signatures required must be at least 1 and at most the number of owners"),
    (MULTISIG, "EINVALID_PAYLOAD_HASH", 0x1000C, "a payload hash must be 32 bytes (sha3-256)"),
    (MULTISIG, "EOWNER_CANNOT_BE_MULTISIG_ACCOUNT_ITSELF", 0x1000D, "the multisig account cannot be one of its own owners"),
    (MULTISIG, "EMULTISIG_ACCOUNTS_NOT_ENABLED_YET", 0xD000E, "multisig accounts are not enabled on this network (feature flag 10)"),
    (MULTISIG, "ENUMBER_OF_METADATA_KEYS_AND_VALUES_DONT_MATCH", 0x1000F, "metadata keys and values differ in number"),
    (MULTISIG, "EDUPLICATE_METADATA_KEY", 0x10010, "a metadata key is given twice"),
    (MULTISIG, "EINVALID_SEQUENCE_NUMBER", 0x10011, "no proposal has this number (outside 1 .. next - 1), or the queue is empty"),
    (MULTISIG, "EOWNERS_TO_REMOVE_NEW_OWNERS_OVERLAP", 0x10012, "an address is both added and removed"),
    (MULTISIG, "EMAX_PENDING_TRANSACTIONS_EXCEEDED", 0x30013, "20 proposals are already pending: execute or clear the head first"),
    (MULTISIG, "EMULTISIG_V2_ENHANCEMENT_NOT_ENABLED", 0x30014, "this multisig entry point needs feature flag 55, which is off"),
    (MULTISIG, "ETRANSACTION_TIMED_OUT", 0x10015, "the proposal has timed out and can never execute; clear it"),
    (MULTISIG, "EINVALID_TIMEOUT_DURATION", 0x10016, "the timeout must be at least 300 seconds"),
    ("0x1::account", "EWRONG_CURRENT_PUBLIC_KEY", 0x10007, "the public key given is not the account's current key (wrong key file, or the key was already revoked)"),
    ("0x1::account", "EINVALID_PROOF_OF_KNOWLEDGE", 0x10008, "the signature does not prove the key (the signed message differs: chain id, sequence number, owners or threshold)"),
    ("0x1::account", "EINVALID_SCHEME", 0x1000C, "the key scheme must be 0 (Ed25519) or 1 (MultiEd25519)"),
    ("0x1::ed25519", "E_WRONG_PUBKEY_SIZE", 0x10001, "an Ed25519 public key must be 32 bytes"),
    ("0x1::ed25519", "E_WRONG_SIGNATURE_SIZE", 0x10002, "an Ed25519 signature must be 64 bytes"),
]  # fmt: skip


def shared_dir() -> Path:
    """shared/ beside the repository, else /work/shared."""
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


def plain(text: str) -> str:
    """Drop Markdown emphasis and code ticks so the meaning is plain text."""
    return text.replace("**", "").replace("`", "").strip()


def modules_of(raised_in: str) -> list[str]:
    raised_in = raised_in.strip()
    if raised_in == "(unused)":
        return []
    if raised_in == "all modules with init":
        return ["*"]
    return [part.strip() for part in raised_in.split(",")]


def main() -> int:
    reference = shared_dir() / "reference"
    spec = (reference / "contract_spec.md").read_text(encoding="utf-8")
    section = spec.split("### 8.2", 1)[1].split("### 8.3", 1)[0]
    known = {
        (c["name"], int(c["code"], 16))
        for c in json.loads((reference / "abort_codes.json").read_text())["codes"]
    }
    rows = []
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match is None:
            continue
        hex_code, dec_code, name, raised_in, meaning = match.groups()
        code = int(hex_code, 16)
        if code != int(dec_code) or (name, code) not in known:
            raise SystemExit(f"row {name} disagrees with abort_codes.json or itself")
        rows.append(
            {
                "name": name,
                "code": f"0x{code:04X}",
                "modules": modules_of(raised_in),
                "meaning": plain(meaning),
            }
        )
    if len(rows) != len(known):
        raise SystemExit(f"parsed {len(rows)} rows, abort_codes.json has {len(known)}")
    data = {
        "source": (
            "Generated by scripts/make_abort_codes.py from shared/reference/contract_spec.md §8.1-8.2, "
            "abort_codes.json and multisig_account.md §4. lottery_multi: every constant of "
            "lottery_multi::errors with the modules that raise it (* = every module with an init); other: "
            "aborts from other modules (the framework's 0x1::multisig_account among them), keyed by module."
        ),
        "lottery_multi": rows,
        "other": OTHER
        + [
            {"name": name, "code": f"0x{code:X}", "module": module, "meaning": meaning}
            for module, name, code, meaning in FRAMEWORK_OTHER
        ],
    }
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {len(rows)} + {len(data['other'])} codes to {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
