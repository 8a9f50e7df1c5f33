from tests.commands.harness import Harness


def test_x(ops2: Harness) -> None:
    r = ops2.run('/payouts batch 4 1 1000 10 reason="round one"', "alice")
    print(r.title, r.ok, [(c.name, c.ok) for c in r.checks], r.fields[3:5] if r.fields else None)
    now = ops2.server.ledger.now_s
    ops2.server.ledger.apply("payouts::record_payout_batch_admin", [4, 1, 1, 1000, 10, now])
    r2 = ops2.run(f"/ops approve {r.request_id}", "bob")
    print(r2.title, r2.ok, r2.state)
    ops2.server.ledger.apply("price_feed::update_price", [1, 10**9, now])
    print(ops2.run("/feed show 1").title)
    r = ops2.run('/feed clear-clamp 1 reason="provider confirmed"', "alice")
    print(r.title, r.state)
    ops2.server.ledger.apply("price_feed::clear_clamp", [1, now])
    r2 = ops2.run(f"/ops approve {r.request_id}", "bob")
    print(r2.title, r2.ok, r2.state, r2.checks)
    print(ops2.run("/feed update 1 1300000", "alice"))
    print(ops2.run('/feed fallback 1 on 3 "spike" --break-glass', "alice"))
    r = ops2.run('/feed fallback 1 on 3 "spike"', "bob")
    print(ops2.run(f"/ops approve {r.request_id}", "bob"))
