"""Random identity graphs built to exercise every OneID guard, for the engine parity tests."""

from __future__ import annotations

import random

import pyarrow as pa


def random_graph(seed: int) -> tuple[pa.Table, pa.Table, pa.Table, list[str]]:
    """Profiles on three channels, half named from a few names, half with one of two surnames; phones shared within families and by
    strangers, and profiles with no phone; one walk-in phone on many POS cards; a blocklisted phone; long
    chains of accounts (depth for the pointer jumping); receiver phones on one, two or many orders; a
    gender on two profiles in three."""
    rng = random.Random(seed)
    n = 600
    names = ["n1", "n2", "n3", None]
    profiles = pa.table({"profile_id": pa.array(range(1, n + 1), pa.int64()),
                         "channel_id": pa.array([rng.choice([1, 2, 3]) for _ in range(n)], pa.int64()),
                         "name_bidx": pa.array([rng.choice(names) for _ in range(n)], pa.string())})

    links: list[tuple[int, str]] = []
    for p in range(1, n + 1):
        phone = f"phone:{rng.randrange(250)}"
        if p % 7:  # one profile in seven has no phone of its own (a platform buyer)
            links.append((p, phone))
        if rng.random() < 0.3:
            links.append((p, f"email:{rng.randrange(120)}"))
        if rng.random() < 0.05:
            links.append((p, "phone:walkin"))
        if rng.random() < 0.02:
            links.append((p, "phone:13800000000"))
    for p in range(1, 200):  # a chain 1-2-3-…-200 through account ids
        links += [(p, f"card:{p}"), (p + 1, f"card:{p}")]
    receiver = [(rng.randrange(1, n + 1), f"phone:{rng.randrange(250)}", rng.randint(1, 3), rng.randint(1, 5))
                for _ in range(300)]
    # phoneless buyers (off the account chain) with one order, sent to someone's phone: a phone of its own
    # carried by a profile of another channel, or of the buyer's own (then the parcel was a gift)
    own_orders = random.Random(seed + 2000)
    channel = profiles["channel_id"].to_pylist()
    for k, p in enumerate(range(203, n + 1, 7)):
        same = k % 3 == 0
        q = own_orders.choice([x for x in range(1, n + 1) if (channel[x - 1] == channel[p - 1]) == same and x != p])
        links.append((q, f"phone:parcel{k}"))
        receiver.append((p, f"phone:parcel{k}", 1, 1))
    # one platform account seen as five profiles of its channel (an account kind: ACCOUNT_KINDS in the
    # tests): more than max_per_channel, yet one account, so it joins them
    own = random.Random(seed + 1000)
    first_channel = [p for p, c in enumerate(profiles["channel_id"].to_pylist(), start=1) if c == 1]
    for k in range(10):
        links += [(p, f"nick:{k}") for p in own.sample(first_channel, 5)]
    # surnames drawn apart from the names: the split by surname, then by name, on every mix; the walk-in
    # phone's cards share one surname or none, so its guard is still the per-channel fan-out's
    walkin = {p for p, x in links if x == "phone:walkin"}
    surnames = [own.choice(["s1", None] if p in walkin else ["s1", "s2", None, None]) for p in range(1, n + 1)]
    profiles = profiles.append_column("surname_bidx", pa.array(surnames, pa.string()))
    # genders (own, or the goods') on some profiles: a single parcel to a carrier of the other is a gift
    sexes = random.Random(seed + 3000)
    profiles = profiles.append_column("gender", pa.array([sexes.choice(["F", "M", None]) for _ in range(n)],
                                                         pa.string()))
    return (profiles,
            pa.table({"profile_id": pa.array([p for p, _ in links], pa.int64()),
                      "node": pa.array([x for _, x in links], pa.string())}),
            pa.table({"profile_id": pa.array([r[0] for r in receiver], pa.int64()),
                      "node": pa.array([r[1] for r in receiver], pa.string()),
                      "orders": pa.array([min(r[2], r[3]) for r in receiver], pa.int64()),
                      "total_orders": pa.array([r[3] for r in receiver], pa.int64())}),
            ["phone:13800000000"])
