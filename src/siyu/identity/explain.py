"""``siyu oneid explain PERSON``: which records make one person, and what joined them.

For each identifier of the person's profiles it says whether it joined profiles here, was not used
(shared by too many people, on the blocklist, a masked phone, or a phone whose profiles disagree on the
surname or the name) or is simply the profile's own. Parcels a buyer of the person sent to its phones are
listed with whether they joined the buyer, and the person's merge history (who was absorbed into it, or
where it went) is given.
The rules are the ones ``analytics.oneid`` applies; this reads the same tables, one person at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from siyu.analytics.oneid_small import gift_sign, parcel_rule
from siyu.core.config import Settings
from siyu.core.crypto import Vault
from siyu.core.errors import NotFound
from siyu.identity import repository as repo
from siyu.identity.reads import Reads
from siyu.identity.realtime import surnames_by_rule
from siyu.identity.service import blocked_nodes
from siyu.ingest.schemas import ACCOUNT_KINDS, JOINING_KINDS, PHONE

SHARED_KINDS = ("phone", "email")  # as analytics.oneid.connected_components: families share these


ROLE_TEXT = {
    "partial": "not used: partial identifier", "blocklist": "not used: blocklist",
    "fanout": "not used: shared by {n} profiles", "channel_fanout": "not used: {n} profiles of one channel share it",
    "one_surname": "joins only profiles of one surname", "one_name": "joins only profiles of one name",
    "joins": "joins {n} profiles", "own": "own",
    "own_elsewhere": "own here; {n} profiles elsewhere",
}


@dataclass
class Evidence:
    kind: str
    display: str | None
    profiles: list[int]  # this person's profiles carrying it
    fanout: int  # profiles anywhere carrying it
    role: str  # a key of ROLE_TEXT (the console translates it)
    count: int = 0  # the number the role's text names

    @property
    def verdict(self) -> str:
        return ROLE_TEXT[self.role].format(n=self.count)


RECEIVER_TEXT = {
    "usual": "joins: {n} of the buyer's {total} orders", "single": "joins: the single order of a buyer without a phone",
    "not_used": "not used: {n} of the buyer's {total} orders",
    "gift": "not used: a gift (the phone's owner has an account on the buyer's platform, or the goods are for the other sex)",
}


@dataclass
class Parcels:
    """A buyer's orders sent to a phone of the same person, and whether they joined the buyer to it (the
    rule of ``analytics.oneid``: most of the buyer's orders, two or more, or a phoneless buyer's single one)."""
    buyer: int
    display: str | None
    orders: int
    total: int
    role: str  # a key of RECEIVER_TEXT (the console translates it)

    @property
    def verdict(self) -> str:
        return RECEIVER_TEXT[self.role].format(n=self.orders, total=self.total)


@dataclass
class Explanation:
    person_id: int
    asked: int  # the id asked about (an absorbed person redirects to its survivor)
    redirect: tuple[int, str, datetime] | None
    profiles: list[Any] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    receivers: list[Parcels] = field(default_factory=list)  # parcels of this person's buyers to its phones
    absorbed: list[Any] = field(default_factory=list)
    matches: list[Any] = field(default_factory=list)  # probabilistic joins: profile_a, profile_b, weight, evidence
    decisions: list[Any] = field(default_factory=list)  # operators' splits and merges about this person


def explain(session: Session, vault: Vault, settings: Settings, person_id: int) -> Explanation:
    asked, redirect = person_id, None
    for _ in range(50):  # follow absorbed persons to the survivor
        row = repo.person_row(session, person_id)
        if row is None:
            raise NotFound(f"no person {person_id}")
        if row.merged_into_id is None:
            break
        m = repo.merge_of(session, person_id)
        redirect = (row.merged_into_id, m.reason if m else "", m.created_at if m else row.created_at)
        person_id = row.merged_into_id
    out = Explanation(person_id=person_id, asked=asked, redirect=redirect)
    out.profiles = repo.person_profiles(session, person_id)
    if not out.profiles:
        return out
    names = {p.id: p.name_bidx for p in out.profiles}
    blocked = set(blocked_nodes(vault, settings))
    by_ident: dict[tuple[str, str], dict[str, Any]] = {}
    for r in repo.identities_with_fanout(session, list(names)):
        e = by_ident.setdefault((r.kind, r.bidx), {"display": r.display, "profiles": [], "fanout": int(r.fanout),
                                                   "channel_fanout": int(r.channel_fanout), "names": int(r.names),
                                                   "identity_id": r.identity_id})
        e["profiles"].append(r.profile_id)
    reads = Reads(session)
    _count_surnames(reads, settings, blocked, by_ident)
    for (kind, bidx), e in sorted(by_ident.items(), key=lambda kv: (kv[0][0], -len(kv[1]["profiles"]))):
        out.evidence.append(Evidence(kind, e["display"], e["profiles"], e["fanout"],
                                     *_verdict(kind, bidx, e, blocked, settings)))
    # a buyer whose parcels went to a phone another profile of this person carries
    phones = {bidx: e for (kind, bidx), e in by_ident.items() if kind == PHONE}
    phoned = {p for e in phones.values() for p in e["profiles"]}
    rows = [(pid, node.split(":", 1)[1], n, total) for pid, node, n, total in repo.receiver_rows_of(session, list(names))]
    rows = [r for r in rows if r[1] in phones and r[0] not in phones[r[1]]["profiles"]]
    single = settings.oneid_single_order_receivers
    # carriers are read only for the parcels the single-order rule could take
    gifts = _gifts(reads, phones, [r for r in rows if single and r[2] < 2 and r[0] not in phoned])
    for pid, bidx, n, total in rows:
        role = parcel_rule(n, total, single_orders=single, own_phone=pid in phoned,
                           gift=partial(gifts.__contains__, (pid, bidx)))
        if role is None:  # the single-order rule would have taken it, but for a sign of a gift
            role = "gift" if (pid, bidx) in gifts and n * 2 > total else "not_used"
        out.receivers.append(Parcels(pid, phones[bidx]["display"], n, total, role))
    out.absorbed = repo.merges_into(session, person_id)
    out.matches = repo.matches_of(session, list(names))
    out.decisions = repo.decisions_about(session, person_id)
    return out


def _gifts(reads: Reads, phones: dict[str, dict[str, Any]],
           rows: list[tuple[int, str, int, int]]) -> set[tuple[int, str]]:
    """(buyer, phone) where another profile of the buyer's channel carries the phone, or a carrier's
    gender is not that of the buyer's goods: the single-order rule takes no such parcel
    (``analytics.oneid_small.parcel_rule``)."""
    if not rows:
        return set()
    wanted = {phones[bidx]["identity_id"]: bidx for _, bidx, _, _ in rows}
    carriers = [(wanted[ident], p) for ident, p, _ in reads.carriers(wanted)]
    ids = {p for _, p in carriers} | {pid for pid, _, _, _ in rows}
    reads.prefetch({"persons": ids, "genders": ids})
    table = reads.profile_persons(ids)
    channel = dict(zip(table["profile_id"].to_pylist(), table["channel_id"].to_pylist(), strict=True))
    gender = reads.genders(ids)
    return {(pid, bidx) for pid, bidx, _, _ in rows
            if any(b == bidx and p != pid and gift_sign(channel.get(pid), gender.get(pid), channel.get(p), gender.get(p))
                   for b, p in carriers)}


def _count_surnames(reads: Reads, settings: Settings, blocked: set[str],
                    by_ident: dict[tuple[str, str], dict[str, Any]]) -> None:
    """``surnames``: how many surnames the profiles carrying each shared phone or email hold as evidence
    (their own, their parcels' or their account's: the rule the components split by), for the phones and
    emails that could join at all."""
    shared = {e["identity_id"]: e for (kind, bidx), e in by_ident.items()
              if kind in SHARED_KINDS and f"{kind}:{bidx}" not in blocked and 2 <= e["fanout"] <= settings.oneid_max_fanout}
    if not shared:
        return
    carriers: dict[int, set[int]] = {}
    for ident, profile, _ in reads.carriers(shared):
        carriers.setdefault(ident, set()).add(profile)
    surname = surnames_by_rule(reads, settings, set().union(*carriers.values()))
    for ident, e in shared.items():
        e["surnames"] = len({surname[p] for p in carriers.get(ident, ()) if p in surname})


def _verdict(kind: str, bidx: str, e: dict[str, Any], blocked: set[str], settings: Settings) -> tuple[str, int]:
    if kind not in JOINING_KINDS:
        return "partial", 0
    if f"{kind}:{bidx}" in blocked:
        return "blocklist", 0
    if e["fanout"] > settings.oneid_max_fanout:
        return "fanout", e["fanout"]
    if e["channel_fanout"] > settings.oneid_max_per_channel and kind not in ACCOUNT_KINDS:
        return "channel_fanout", e["channel_fanout"]
    if kind in SHARED_KINDS and e.get("surnames", 0) > 1:
        return "one_surname", 0
    if kind in SHARED_KINDS and e["names"] > 1:
        return "one_name", 0
    if len(e["profiles"]) >= 2:
        return "joins", len(e["profiles"])
    return ("own", 0) if e["fanout"] <= 1 else ("own_elsewhere", e["fanout"] - 1)
