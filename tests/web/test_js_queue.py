"""web/static/portal-queue.js, run in Node: the outbox's retry policy and its rounds, over a store in
memory and a fake server (what IndexedDB, the service worker and the real server add is proven in
Chromium by tests/web/test_portal_offline.py).

- retryDelay: exponential, jittered, capped ("equal jitter": never less than half the ceiling);
- outcome: 2xx recorded; no answer, 408, 429, 5xx retried; every other 4xx refused for good;
- settle: Retry-After honoured when longer than the backoff; 5xx retried at most SERVER_TRIES times;
- flush: oldest first, one party, stops at the first item that must wait, a refusal does not stop it,
  an item leaves "waiting" only on an answer (a lost answer is sent again and answered once);
- localHead / localLots: events signed offline chain on the lots they name.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .js.node import node

BASE, CAP = 5000, 600_000

# A fake server and signed events: entries are recorded once (by entry), as POST /events does.
HARNESS = """
globalThis.T = {
  event(n, kind, lots, extra) {
    const ev = Object.assign({ kind, party: "P1", event_time: "2026-12-07T10:00:00+08:00",
      inputs: (lots.inputs || []).map((lot) => ({ lot, quantity: "1", unit: "kg", follows: ["x"] })),
      outputs: (lots.outputs || []).map((lot) => ({ lot, quantity: "5", unit: "kg", product: { name_zh: "包菜" } })),
      detail: {} }, extra || {});
    const canonical = JSON.stringify(ev);
    return { id: String(n).padStart(64, "0"), entry: "entry-" + n, canonical };
  },
  server(script) {
    // script: a list of what to do with each POST, in turn: "ok" | "lose" (record, then fail) |
    // "down" (fail before it arrives) | a status number (answered with it, not recorded).
    const s = { recorded: new Map(), posts: [], script: [...script] };
    s.fetch = async (url, init) => {
      const entry = JSON.parse(init.body).entry;
      s.posts.push(entry);
      const what = s.script.length ? s.script.shift() : "ok";
      if (what === "down") throw new TypeError("Failed to fetch");
      const answer = (status, body, headers) => ({ status, json: async () => body,
        headers: { get: (h) => (headers || {})[h.toLowerCase()] || null } });
      if (typeof what === "number") return answer(what, { title: "no", detail: "rule r: " + what, rule: "r", field: "f" }, { "retry-after": s.retryAfter });
      const dup = s.recorded.has(entry);
      if (!dup) s.recorded.set(entry, s.recorded.size);
      if (what === "lose") throw new TypeError("Failed to fetch");
      return answer(dup ? 200 : 201, { index: s.recorded.get(entry), event_id: "e-" + entry, duplicate: dup });
    };
    return s;
  },
  opts(store, server, now) {
    return { store, fetchImpl: server.fetch, authorize: async () => "token", now: () => now.t, random: () => 0.5 };
  },
};
"""


@pytest.fixture(scope="module")
def js():
    with node("portal-queue.js") as process:
        process.evaluate("(h) => { (0, eval)(h); return true; }", HARNESS)
        yield process


def test_retry_delay_is_exponential_jittered_and_capped(js):
    lows = js.evaluate("(n) => Array.from({length: n}, (_, i) => FarmtraceQueue.retryDelay(i, () => 0))", 12)
    highs = js.evaluate("(n) => Array.from({length: n}, (_, i) => FarmtraceQueue.retryDelay(i, () => 1))", 12)
    ceilings = [min(CAP, BASE * 2**i) for i in range(12)]
    assert lows == [c // 2 for c in ceilings]
    assert highs == ceilings
    assert highs[-1] == CAP and lows[-1] == CAP // 2  # capped, and never back at once
    assert js.evaluate("() => FarmtraceQueue.retryDelay(1000, () => 0.999)") <= CAP


@settings(max_examples=200, deadline=None)
@given(attempts=st.integers(0, 60), r=st.floats(0, 1, exclude_max=True))
def test_retry_delay_stays_within_half_and_the_whole_ceiling(js, attempts, r):
    delay = js.evaluate("([n, r]) => FarmtraceQueue.retryDelay(n, () => r)", [attempts, r])
    ceiling = min(CAP, BASE * 2**attempts)
    assert ceiling / 2 <= delay <= ceiling


def test_outcome_of_each_status(js):
    statuses = [200, 201, 0, 408, 429, 500, 502, 503, 504, 400, 401, 403, 404, 409, 413, 415, 422]
    got = js.evaluate("(ss) => ss.map((s) => FarmtraceQueue.outcome(s))", statuses)
    assert dict(zip(statuses, got, strict=True)) == {
        200: "recorded",
        201: "recorded",
        0: "retry",
        408: "retry",
        429: "retry",
        500: "retry",
        502: "retry",
        503: "retry",
        504: "retry",
        400: "refused",
        401: "refused",
        403: "refused",
        404: "refused",
        409: "refused",
        413: "refused",
        415: "refused",
        422: "refused",
    }


def test_retry_after_in_seconds_or_as_a_date(js):
    now = 1_765_000_000_000
    got = js.evaluate(
        "([now, hs]) => hs.map((h) => FarmtraceQueue.retryAfterMs(h, now))",
        [now, ["120", " 7 ", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", None, "-3"]],
    )
    assert got == [120_000, 7000, 0, None, None, None]


SETTLE = """([answers, now]) => {
  let item = { id: "a", attempts: 0, serverTries: 0, state: "waiting", nextAt: 0, lastError: null };
  const out = [];
  for (const a of answers) { item = FarmtraceQueue.settle(item, a, now, () => 0); out.push(item); }
  return out;
}"""


def test_settle_records_refuses_or_backs_off(js):
    now = 1_000_000
    (recorded,) = js.evaluate(
        SETTLE, [[{"status": 201, "body": {"index": 7, "event_id": "e", "duplicate": False}}], now]
    )
    assert recorded["state"] == "recorded" and recorded["receipt"] == {
        "index": 7,
        "event_id": "e",
        "duplicate": False,
    }

    (refused,) = js.evaluate(
        SETTLE,
        [
            [
                {
                    "status": 422,
                    "body": {"title": "t", "detail": "d", "rule": "follows", "field": "inputs[0].follows"},
                }
            ],
            now,
        ],
    )
    assert refused["state"] == "refused"
    assert refused["problem"] == {
        "status": 422,
        "type": None,
        "title": "t",
        "detail": "d",
        "rule": "follows",
        "field": "inputs[0].follows",
    }

    lost = js.evaluate(SETTLE, [[{"status": 0, "error": "Failed to fetch"}] * 3, now])
    assert [i["state"] for i in lost] == ["waiting"] * 3
    assert [i["nextAt"] - now for i in lost] == [BASE // 2, BASE, BASE * 2]
    assert lost[-1]["lastError"] == {"status": 0, "detail": "Failed to fetch"}

    # A Retry-After longer than the backoff wins; a shorter one does not.
    slow, fast = js.evaluate(
        SETTLE, [[{"status": 503, "retryAfter": "600"}, {"status": 429, "retryAfter": "1"}], now]
    )
    assert slow["nextAt"] - now == 600_000
    assert fast["nextAt"] - now == BASE  # the backoff of the second try


def test_a_failing_server_is_not_retried_forever_but_the_network_is(js):
    tries = js.evaluate("() => FarmtraceQueue.SERVER_TRIES")
    server = js.evaluate(SETTLE, [[{"status": 500}] * tries, 0])
    assert [i["state"] for i in server] == ["waiting"] * (tries - 1) + ["refused"]
    network = js.evaluate(SETTLE, [[{"status": 0}] * (tries * 3), 0])
    assert {i["state"] for i in network} == {"waiting"}
    assert network[-1]["nextAt"] == CAP // 2  # the cap holds (random 0: half of it)


ROUNDS = """async ([script, plan]) => {
  // plan: [["enqueue", n, kind, {inputs, outputs}, party?] | ["flush", force] | ["advance", ms]]
  const Q = FarmtraceQueue;
  const store = Q.memoryStore();
  const server = T.server(script);
  const now = { t: 1000000 };
  const opts = T.opts(store, server, now);
  const key = { party: "P1" };
  const rounds = [];
  for (const step of plan) {
    if (step[0] === "enqueue") {
      const signed = T.event(step[1], step[2], step[3]);
      await Q.enqueue(signed, { party: step[4] || "P1", now: now.t, store });
    } else if (step[0] === "advance") {
      now.t += step[1];
    } else {
      const r = await Q.flush({ key, force: step[1], ...opts });
      rounds.push({ sent: r.sent, recorded: r.recorded.map((i) => i.id.slice(-2)), refused: r.refused.map((i) => i.id.slice(-2)), waiting: r.waiting });
    }
  }
  const items = (await store.all()).sort((a, b) => a.seq - b.seq).map((i) => ({ n: i.id.slice(-2), state: i.state, party: i.party, receipt: i.receipt }));
  return { rounds, posts: server.posts, recorded: [...server.recorded.keys()], items };
}"""


def _three(party_of_third: str = "P1"):
    return [
        ["enqueue", 1, "harvest", {"outputs": ["A"]}],
        ["enqueue", 2, "harvest", {"outputs": ["B"]}],
        ["enqueue", 3, "certify", {"inputs": ["A"]}, party_of_third],
    ]


def test_a_round_sends_oldest_first_and_stops_at_the_first_that_must_wait(js):
    plan = [*_three(), ["flush", False], ["flush", False], ["advance", BASE], ["flush", False]]
    out = js.evaluate(ROUNDS, [["down"], plan])
    first, early, later = out["rounds"]
    assert first == {"sent": 1, "recorded": [], "refused": [], "waiting": 3}  # the network is down: stop
    assert early == {"sent": 0, "recorded": [], "refused": [], "waiting": 3}  # its backoff is not over
    assert later == {"sent": 3, "recorded": ["01", "02", "03"], "refused": [], "waiting": 0}
    assert out["posts"] == ["entry-1", "entry-1", "entry-2", "entry-3"]
    assert out["recorded"] == ["entry-1", "entry-2", "entry-3"]  # in the order they were signed


def test_the_network_coming_back_forces_a_round(js):
    plan = [*_three(), ["flush", False], ["flush", True]]
    out = js.evaluate(ROUNDS, [["down"], plan])
    assert out["rounds"][1]["recorded"] == ["01", "02", "03"]


def test_a_refusal_is_final_and_does_not_stop_the_round(js):
    plan = [*_three(), ["flush", False], ["advance", CAP], ["flush", False]]
    out = js.evaluate(ROUNDS, [["ok", 422, "ok"], plan])
    assert out["rounds"][0] == {"sent": 3, "recorded": ["01", "03"], "refused": ["02"], "waiting": 0}
    assert out["rounds"][1]["sent"] == 0  # never sent again by itself
    assert [i["state"] for i in out["items"]] == ["recorded", "refused", "recorded"]


def test_a_lost_answer_is_sent_again_and_recorded_once(js):
    plan = [*_three()[:1], ["flush", False], ["flush", True]]
    out = js.evaluate(ROUNDS, [["lose"], plan])
    assert out["rounds"][0]["waiting"] == 1  # the server has it, the phone does not know: still waiting
    assert out["rounds"][1]["recorded"] == ["01"]
    assert out["posts"] == ["entry-1", "entry-1"]
    assert out["recorded"] == ["entry-1"]
    assert out["items"][0]["receipt"] == {"index": 0, "event_id": "e-entry-1", "duplicate": True}


def test_a_round_sends_only_the_keys_party(js):
    out = js.evaluate(ROUNDS, [[], [*_three("P2"), ["flush", True]]])
    assert out["rounds"][0]["recorded"] == ["01", "02"]
    assert out["items"][2] == {"n": "03", "state": "waiting", "party": "P2", "receipt": None}


def test_the_same_signed_event_is_kept_once(js):
    count = js.evaluate(
        """async () => {
        const store = FarmtraceQueue.memoryStore();
        const s = T.event(9, "harvest", { outputs: ["A"] });
        await FarmtraceQueue.enqueue(s, { store, now: 1 });
        await FarmtraceQueue.enqueue(s, { store, now: 2 });
        return (await store.all()).length;
    }"""
    )
    assert count == 1


LOCAL = """async () => {
  const Q = FarmtraceQueue;
  const store = Q.memoryStore();
  for (const [n, kind, lots] of [[1, "harvest", { outputs: ["A"] }], [2, "harvest", { outputs: ["B"] }],
                                 [3, "inspect", { inputs: ["A"] }], [4, "transform", { inputs: ["B"], outputs: ["B1", "B2"] }]]) {
    await Q.enqueue(T.event(n, kind, lots), { store, now: n });
  }
  const items = await store.all();
  const ids = (n) => String(n).padStart(64, "0");
  const head = (lot, recorded) => { const h = Q.localHead(items, "P1", lot, { recorded }); return h && h.slice(-1); };
  const before = { A: head("A"), B: head("B"), B1: head("B1"), C: head("C"), other: Q.localHead(items, "P2", "A") };
  const lots = Q.localLots(items, "P1").map((l) => [l.lot, l.head.slice(-1), l.quantity, l.unit]);
  // Once recorded, the server's pages know them: only a page from the cache still counts them.
  for (const it of items) await store.put({ ...it, state: "recorded" });
  const done = await store.all();
  return { before, lots, afterFresh: Q.localHead(done, "P1", "A"), afterCached: Q.localHead(done, "P1", "A", { recorded: true }).slice(-1), lotsAfter: Q.localLots(done, "P1").length };
}"""


def test_events_signed_offline_chain_on_their_lots(js):
    out = js.evaluate(LOCAL)
    assert out["before"] == {"A": "3", "B": "4", "B1": "4", "C": None, "other": None}
    assert out["lots"] == [
        ["A", "3", "5", "kg"],
        ["B", "4", "5", "kg"],
        ["B1", "4", "5", "kg"],
        ["B2", "4", "5", "kg"],
    ]
    assert out["afterFresh"] is None
    assert out["afterCached"] == "3"
    assert out["lotsAfter"] == 0


def test_recorded_items_are_kept_a_week_and_fifty_at_most(js):
    day = 24 * 3600 * 1000
    gone = js.evaluate(
        """([day]) => {
        const now = 100 * day;
        const items = Array.from({ length: 60 }, (_, i) => ({ id: "r" + i, state: "recorded", answeredAt: now - i * 1000 }));
        items.push({ id: "old", state: "recorded", answeredAt: now - 8 * day });
        items.push({ id: "w", state: "waiting", created: 0 }, { id: "x", state: "refused", answeredAt: 0 });
        return FarmtraceQueue.expired(items, now);
    }""",
        [day],
    )
    assert sorted(gone) == sorted([f"r{i}" for i in range(50, 60)] + ["old"])


def test_next_wake_is_the_earliest_due_item_of_the_party(js):
    got = js.evaluate(
        """() => {
        const items = [{ party: "P1", state: "waiting", nextAt: 5000 }, { party: "P1", state: "waiting", nextAt: 3000 },
                       { party: "P2", state: "waiting", nextAt: 1000 }, { party: "P1", state: "refused", nextAt: 0 }];
        return [FarmtraceQueue.nextWake(items, "P1", 1000), FarmtraceQueue.nextWake(items, "P1", 9000),
                FarmtraceQueue.nextWake(items, "P3", 0)];
    }"""
    )
    assert got == [2000, 0, None]
