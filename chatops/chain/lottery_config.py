"""``lottery_registry::Config`` as the bot builds it: from view JSON, with overrides, to BCS (spec
§12.2)."""

from __future__ import annotations

import hashlib
from typing import Any

from aptos_sdk.bcs import Serializer
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LotteryConfig", "PrizeSlot"]


def _b(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    text = str(value)
    return bytes.fromhex(text[2:]) if text.startswith("0x") else text.encode()


class PrizeSlot(BaseModel):
    model_config = ConfigDict(frozen=True)

    slot_id: int = Field(ge=0)
    winners_per_slot: int = Field(ge=0, lt=1 << 16)
    reward_type: int = Field(default=0, ge=0, lt=256)
    reward_payload: bytes = b""


class LotteryConfig(BaseModel):
    """The fields of ``Config`` in BCS order (spec §6.4); u64 values as ints, byte strings as bytes.

    ``create_draft_admin`` takes the config as BCS bytes; operators start from an existing lottery's
    config (``views::get_lottery``) or the defaults here and change a few fields.
    """

    model_config = ConfigDict(frozen=True)

    event_slug: bytes = b"lottery"
    series_code: bytes = b"daily"
    run_id: int = 1
    config_version: int = 1
    primary_type: int = 0
    tags_mask: int = 0
    sales_start: int
    sales_end: int
    ticket_price: int
    max_tickets_total: int
    max_tickets_per_address: int = 0
    prize_bps: int = 7000
    jackpot_bps: int = 1500
    operations_bps: int = 1000
    reserve_bps: int = 500
    prize_plan: tuple[PrizeSlot, ...] = (PrizeSlot(slot_id=0, winners_per_slot=1),)
    winners_dedup: bool = True
    draw_algo: int = 0
    auto_close_enabled: bool = False
    auto_close_grace_secs: int = 0
    reward_backend_type: int = 0
    reward_backend_blob: bytes = b""
    retry_strategy: int = 0
    retry_base_delay_secs: int = 600
    retry_max_delay_secs: int = 600

    @classmethod
    def from_view(cls, data: dict[str, Any]) -> LotteryConfig:
        """Parse ``views::get_lottery`` JSON (u64 as strings, bytes as 0x hex)."""
        window = data["sales_window"]
        limits = data["ticket_limits"]
        dist = data["sales_distribution"]
        auto = data["auto_close_policy"]
        backend = data["reward_backend"]
        retry = data["vrf_retry_policy"]
        return cls(
            event_slug=_b(data["event_slug"]),
            series_code=_b(data["series_code"]),
            run_id=int(data["run_id"]),
            config_version=int(data["config_version"]),
            primary_type=int(data["primary_type"]),
            tags_mask=int(data["tags_mask"]),
            sales_start=int(window["sales_start"]),
            sales_end=int(window["sales_end"]),
            ticket_price=int(data["ticket_price"]),
            max_tickets_total=int(limits["max_tickets_total"]),
            max_tickets_per_address=int(limits["max_tickets_per_address"]),
            prize_bps=int(dist["prize_bps"]),
            jackpot_bps=int(dist["jackpot_bps"]),
            operations_bps=int(dist["operations_bps"]),
            reserve_bps=int(dist["reserve_bps"]),
            prize_plan=tuple(
                PrizeSlot(
                    slot_id=int(s["slot_id"]),
                    winners_per_slot=int(s["winners_per_slot"]),
                    reward_type=int(s["reward_type"]),
                    reward_payload=_b(s["reward_payload"]),
                )
                for s in data["prize_plan"]
            ),
            winners_dedup=bool(data["winners_dedup"]),
            draw_algo=int(data["draw_algo"]),
            auto_close_enabled=bool(auto["enabled"]),
            auto_close_grace_secs=int(auto["grace_period_secs"]),
            reward_backend_type=int(backend["backend_type"]),
            reward_backend_blob=_b(backend["config_blob"]),
            retry_strategy=int(retry["strategy"]),
            retry_base_delay_secs=int(retry["base_delay_secs"]),
            retry_max_delay_secs=int(retry["max_delay_secs"]),
        )

    def bcs(self) -> bytes:
        """The ``config_bytes`` argument of ``create_draft_admin``."""
        ser = Serializer()
        ser.to_bytes(self.event_slug)
        ser.to_bytes(self.series_code)
        ser.u64(self.run_id)
        ser.u64(self.config_version)
        ser.u8(self.primary_type)
        ser.u64(self.tags_mask)
        ser.u64(self.sales_start)
        ser.u64(self.sales_end)
        ser.u64(self.ticket_price)
        ser.u64(self.max_tickets_total)
        ser.u64(self.max_tickets_per_address)
        for bps in (self.prize_bps, self.jackpot_bps, self.operations_bps, self.reserve_bps):
            ser.u16(bps)
        ser.uleb128(len(self.prize_plan))
        for slot in self.prize_plan:
            ser.u64(slot.slot_id)
            ser.u16(slot.winners_per_slot)
            ser.u8(slot.reward_type)
            ser.to_bytes(slot.reward_payload)
        ser.bool(self.winners_dedup)
        ser.u8(self.draw_algo)
        ser.bool(self.auto_close_enabled)
        ser.u64(self.auto_close_grace_secs)
        ser.u8(self.reward_backend_type)
        ser.to_bytes(self.reward_backend_blob)
        ser.u8(self.retry_strategy)
        ser.u64(self.retry_base_delay_secs)
        ser.u64(self.retry_max_delay_secs)
        return ser.output()

    def cfg_hash(self) -> bytes:
        return hashlib.sha3_256(self.bcs()).digest()

    def distribution_problems(self) -> list[str]:
        """The runbook's ``economics::assert_distribution`` (not callable on chain): the bps sum to 10 000."""
        total = self.prize_bps + self.jackpot_bps + self.operations_bps + self.reserve_bps
        return [] if total == 10_000 else [f"sales distribution sums to {total} bps, not 10000"]
