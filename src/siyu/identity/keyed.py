"""Profiles known only by one key (a POS card on a receipt), recorded by the hundred thousand.

The same rules as ``record_profiles`` for this narrow case, which is what a sales export carries: a
profile is keyed by (channel, key), carries one identifier of ``kind`` with the same value, and an
order is weak evidence, so the only thing it may change on a known profile is an earlier first-seen
time. Kept separate because the general path costs ~100 µs a profile and a large export names a
million cards; this one works on sets (staged keys, one join, column loads).
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from siyu.core.crypto import Vault
from siyu.identity import repository as repo
from siyu.identity.profiles import display
from siyu.models import Identity, Profile, ProfileIdentity

TS = pa.timestamp("us", tz="UTC")


def record_keyed_profiles(session, vault: Vault, channel_id: int, kind: str,  # type: ignore[no-untyped-def]
                          first_seen: dict[str, datetime], stamp: datetime) -> tuple[dict[str, int], int]:
    """``first_seen``: key → earliest time it appears in this batch. Returns key → profile id, and how
    many profiles were new."""
    if not first_seen:
        return {}, 0
    keys = list(first_seen)
    known = repo.profile_seen_by_key(session, channel_id, pa.array(keys, pa.string()))
    ids = {k: v[0] for k, v in known.items()}
    earlier = [{"id": pid, "first_seen_at": first_seen[k], "updated_at": stamp} for k, (pid, seen) in known.items()
               if seen is None or first_seen[k] < seen]
    repo.update_profiles(session, earlier)

    fresh = [k for k in keys if k not in known]
    new_ids = repo.new_ids(session, Profile, len(fresh))
    repo.load_rows(session, Profile, pa.table({
        "id": new_ids, "external_id": pa.array(fresh, pa.string()),
        "first_seen_at": pa.array([first_seen[k] for k in fresh], TS),
    }), {"channel_id": channel_id, "created_at": stamp, "updated_at": stamp})
    ids.update(zip(fresh, new_ids.tolist(), strict=True))

    bidx = {k: vault.blind_index(kind, k) for k in keys}
    have = repo.identity_ids(session, kind, pa.array(list(bidx.values()), pa.string()))
    missing = [k for k in keys if bidx[k] not in have]
    ident_ids = repo.new_ids(session, Identity, len(missing))
    repo.load_rows(session, Identity, pa.table({
        "id": ident_ids, "bidx": pa.array([bidx[k] for k in missing], pa.string()),
        "value_enc": pa.array([vault.encrypt(k, f"identity.{kind}") for k in missing], pa.binary()),
        "display": pa.array([display(kind, k) for k in missing], pa.string()),
    }), {"kind": kind, "created_at": stamp})
    have.update({bidx[k]: i for k, i in zip(missing, ident_ids.tolist(), strict=True)})

    # New profiles have no links yet; a known profile almost always has this one already.
    fresh_set = set(fresh)
    repo.load_rows(session, ProfileIdentity, pa.table({
        "profile_id": pa.array([ids[k] for k in fresh], pa.int64()),
        "identity_id": pa.array([have[bidx[k]] for k in fresh], pa.int64()),
    }), {"created_at": stamp})
    repo.link_if_missing(session, [{"profile_id": ids[k], "identity_id": have[bidx[k]], "created_at": stamp}
                                   for k in keys if k not in fresh_set])
    return ids, len(fresh)
