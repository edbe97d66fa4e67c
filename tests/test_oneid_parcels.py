"""Two platform buyers without phones joined by where their parcels go (``analytics.oneid_parcels``), and
the street index it compares."""

from __future__ import annotations

import math

import pyarrow as pa

from siyu.analytics.engine import connect
from siyu.analytics.oneid_parcels import EVIDENCE, ONE_PARCEL, STREET, parcel_matches
from siyu.console.i18n import TEXT
from siyu.core.crypto import Vault, derive_keys
from siyu.identity.profiles import street_index, street_start

DOUYIN, TMALL, JD = 1, 2, 3
PLACE = ("杭州市", "西湖区")


class Brand:
    """Buyers' receivers, phones, genders and identifier links, written as the service reads them."""

    def __init__(self) -> None:
        self.receivers: list[dict] = []
        self.phones: list[tuple[int, bool, str]] = []
        self.traits: list[tuple[int, int, str | None]] = []
        self.links: list[tuple[int, str]] = []

    def buyer(self, pid: int, channel: int, surname: str, ending: str, street: str | None, orders: int = 2,
              place: tuple[str, str] = PLACE, gender: str | None = None, full: bool = False,
              nodes: tuple[str, ...] = (), head: str = "138****12", per_order: bool = False) -> None:
        """A buyer whose parcels all go to one receiver; its masks as identities (old orders) or, with
        ``per_order``, on its orders too."""
        mask = (f"{head}{ending}" if channel != DOUYIN else f"1********{ending}") if per_order else None
        self.receivers.append({"profile_id": pid, "name_bidx": None, "surname_bidx": surname, "mask": mask,
                               "mask_full": False, "street": street, "city": place[0], "district": place[1],
                               "orders": orders})
        self.phones.append((pid, full, f"{head}{ending}" if channel != DOUYIN else f"1********{ending}"))
        self.traits.append((pid, channel, gender))
        self.links.extend((pid, n) for n in (f"account:{pid}", *nodes))

    def crowd(self, n: int, start: int = 90_000) -> None:
        """``n`` buyers who fit nobody: what the shares of surnames, endings and places are counted over."""
        for i in range(n):
            self.buyer(start + i, (DOUYIN, TMALL, JD)[i % 3], f"crowd-{i}", f"{i % 100:02d}", f"road-{i}",
                       place=("上海市", f"区{i % 7}"))

    def matches(self, min_weight: float = -100.0, one_parcel: str = "one", known: pa.Table | None = None,
                blocked: tuple[str, ...] = ()) -> dict[tuple[int, int], tuple[float, str]]:
        receivers = pa.Table.from_pylist(self.receivers, pa.schema([
            ("profile_id", pa.int64()), ("name_bidx", pa.string()), ("surname_bidx", pa.string()),
            ("mask", pa.string()), ("mask_full", pa.bool_()), ("street", pa.string()), ("city", pa.string()), ("district", pa.string()),
            ("orders", pa.int64())]))
        phones = pa.table({"profile_id": pa.array([p for p, _, _ in self.phones], pa.int64()),
                           "is_full": pa.array([f for _, f, _ in self.phones]),
                           "display": pa.array([d for _, _, d in self.phones])})
        traits = pa.table({"profile_id": pa.array([p for p, _, _ in self.traits], pa.int64()),
                           "channel_id": pa.array([c for _, c, _ in self.traits], pa.int64()),
                           "gender": pa.array([g for _, _, g in self.traits], pa.string())})
        links = pa.table({"profile_id": pa.array([p for p, _ in self.links], pa.int64()),
                          "node": pa.array([n for _, n in self.links], pa.string())})
        with connect() as con:
            out = parcel_matches(con, receivers, phones, traits, links, min_weight=min_weight, max_fanout=20,
                                 blocked=list(blocked), one_parcel=one_parcel, known=known)
        return {(a, b): (w, e) for a, b, w, e in zip(*(out[c].to_pylist() for c in
                                                        ("profile_a", "profile_b", "match_weight", "evidence")),
                                                      strict=True)}


def test_a_douyin_buyer_joins_the_one_tmall_buyer_its_parcels_go_to() -> None:
    b = Brand()
    b.crowd(40)
    b.buyer(1, DOUYIN, "zhang", "35", "changjianglu")       # 张**, 1********35, 长江路***
    b.buyer(101, TMALL, "zhang", "35", "changjianglu")      # 张三, 138****1235, 长江路100号
    b.buyer(2, DOUYIN, "li", "35", "changjianglu")          # 李: two Tmall buyers fit, neither joins
    b.buyer(102, TMALL, "li", "35", "changjianglu")
    b.buyer(103, TMALL, "li", "35", "changjianglu")
    b.buyer(3, DOUYIN, "wang", "35", "changjianglu")        # 王 on another street
    b.buyer(104, TMALL, "wang", "35", "wensanlu")
    b.buyer(4, DOUYIN, "zhao", "35", "changjianglu")        # 赵: one Tmall account seen twice (its export and
    b.buyer(105, TMALL, "zhao", "35", "changjianglu", nodes=("taobao_nick:zhao",))  # its API: one person)
    b.buyer(106, TMALL, "zhao", "35", "changjianglu", nodes=("taobao_nick:zhao",))
    b.buyer(5, DOUYIN, "sun", "35", "changjianglu", gender="F")  # a woman's goods, a man's goods
    b.buyer(107, TMALL, "sun", "35", "changjianglu", gender="M")
    b.buyer(6, DOUYIN, "zhou", "35", "changjianglu", orders=1)   # both known by their only parcel
    b.buyer(108, TMALL, "zhou", "35", "changjianglu", orders=1)
    b.buyer(7, DOUYIN, "wu", "35", "changjianglu")          # a phone of its own: not a phoneless buyer
    b.buyer(109, TMALL, "wu", "35", "changjianglu", full=True)
    b.buyer(8, DOUYIN, "zheng", "35", "changjianglu")       # two Douyin accounts of different people
    b.buyer(9, DOUYIN, "zheng", "35", "changjianglu")
    b.buyer(10, DOUYIN, "qian", "35", "changjianglu", per_order=True)  # 钱: its masks show a gift's receiver
    b.buyer(110, TMALL, "qian", "35", "changjianglu", orders=3, per_order=True)  # too (1********77), but
    b.receivers.append({**b.receivers[-1], "surname_bidx": "feng", "mask": "1********77", "orders": 1})  # most
    b.phones.append((110, False, "1********77"))            # of its parcels go to …35
    b.buyer(11, DOUYIN, "chu", "35", "changjianglu")        # 褚: the same, with no mask on its orders (stored
    b.buyer(111, TMALL, "chu", "35", "changjianglu", orders=3)  # before they were kept): no ending to trust
    b.phones.append((111, False, "138****1277"))
    b.buyer(13, DOUYIN, "shen", "35", "changjianglu", orders=1)  # 沈: one parcel, to a Tmall buyer's
    b.buyer(113, TMALL, "shen", "35", "changjianglu")            # usual receiver: a gift, or themself
    b.buyer(14, DOUYIN, "han", "35", "changjianglu", orders=1)   # 韩: one parcel to a Tmall buyer who
    b.buyer(114, TMALL, "han", "35", "changjianglu")             # shops on Douyin too (15): a gift, and
    b.buyer(15, DOUYIN, "han", "35", "changjianglu")             # two Douyin people fit 114: none joins
    got = b.matches()
    assert set(got) == {(1, 101), (4, 105), (10, 110), (13, 113)}
    assert got[13, 113][1] == f"{EVIDENCE} + {STREET} + {ONE_PARCEL}"
    assert set(b.matches(one_parcel="neither")) == {(1, 101), (4, 105), (10, 110)}
    assert got[1, 101][1] == f"{EVIDENCE} + {STREET}"
    assert set(b.matches(one_parcel="both")) == {(1, 101), (4, 105), (6, 108), (10, 110), (13, 113)}
    assert b.matches(one_parcel="both")[6, 108][1] == f"{EVIDENCE} + {STREET} + {ONE_PARCEL}"
    # Splink's pairs are not stored twice
    known = pa.table({"profile_a": pa.array([1], pa.int64()), "profile_b": pa.array([101], pa.int64())})
    assert set(b.matches(known=known)) == {(4, 105), (10, 110), (13, 113)}
    # a blocked identifier does not make two buyers one person
    assert set(b.matches(blocked=("taobao_nick:zhao",))) == {(1, 101), (10, 110), (13, 113)}


def test_three_accounts_of_one_person_fit_each_other_but_two_people_do_not() -> None:
    b = Brand()
    b.crowd(40)
    b.buyer(1, DOUYIN, "zhang", "35", "changjianglu")       # Douyin, Tmall and JD (JD shows no street)
    b.buyer(101, TMALL, "zhang", "35", "changjianglu")
    b.buyer(201, JD, "zhang", "35", None)
    b.buyer(2, JD, "li", "35", None)                        # JD 李 fits a Douyin and a Tmall 李 on two
    b.buyer(102, DOUYIN, "li", "35", "changjianglu")        # streets: two people, so JD joins neither
    b.buyer(202, TMALL, "li", "35", "wensanlu")
    b.buyer(3, DOUYIN, "wang", "35", "changjianglu")        # Douyin 王 fits a Tmall and a JD 王 whose 3+4
    b.buyer(103, TMALL, "wang", "35", "changjianglu")       # masks differ: two people, so it joins neither
    b.buyer(203, JD, "wang", "35", None, head="139****12")
    got = b.matches()
    # Tmall and JD both show 138****1235: that pair is Splink's to compare, not this rule's
    assert set(got) == {(1, 101), (1, 201)}
    assert got[1, 201][1] == EVIDENCE  # no street to compare


def test_the_weight_is_minus_log2_of_the_strangers_expected_to_fit() -> None:
    b = Brand()
    b.crowd(60)
    b.buyer(1, DOUYIN, "zhang", "35", "changjianglu")
    b.buyer(101, TMALL, "zhang", "35", "changjianglu")
    b.buyer(102, TMALL, "zhang", "36", "wensanlu")          # another 张 of the place, on another street
    got = b.matches()
    people = 63
    # surname 3/63, ending 35 (the crowd's 35 and these two) 3/63, place 3/63, street 2 of the place's 3
    weight = -math.log2(people * (3 / people) * (3 / people) * (3 / people) * (2 / 3))
    assert math.isclose(got[1, 101][0], weight)
    assert b.matches(min_weight=weight + 0.01) == {}


def test_street_start_takes_what_every_platform_shows() -> None:
    assert street_start("长江路***", "辽宁省", "沈阳市", "浑南区") == "长江路"            # Douyin
    assert street_start("东风路**号", "江苏省", "南京市", "江宁区") == "东风路"           # Taobao's API
    assert street_start("文三路100号(310000)", "浙江省", "杭州市", "西湖区") == "文三路"  # the seller centre
    assert street_start("浙江省 杭州市 西湖区 文三路100号", "浙江省", "杭州市", "西湖区") == "文三路"
    assert street_start("广西壮族自治区南宁市青秀区******", "广西壮族自治区", "南宁市", "青秀区") is None  # JD
    assert street_start("长*路", None) is None and street_start("路", None) is None and street_start(None) is None
    assert street_start("ＡＢＣ路", None) == "ABC"  # NFKC
    vault = Vault(derive_keys(b"k" * 32))
    assert street_index(vault, "长江路***") == street_index(vault, "长江路88号") == vault.blind_index("street", "长江路")
    assert street_index(vault, "******") == ""  # looked, found none: not looked at again


def test_the_member_page_says_each_part_of_the_evidence_in_both_languages() -> None:
    for part in (*EVIDENCE.split(" + "), STREET, ONE_PARCEL):
        assert set(TEXT[f"ev {part}"]) == {"zh", "en"}
