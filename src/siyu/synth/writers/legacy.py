"""The member export a brand takes with it when it leaves its previous SaaS vendor: an Excel workbook
with the vendor's Chinese headers and its own words (性别 男/女), read through a column-mapping file
that lies beside it (``crm_members.mapping.yaml``). No platform writes this format; the mapping is how
Siyu reads "anything else", and the demo imports it like every other file.

It holds the mini-program members of the vendor's era (the earlier ones), exactly as the mini-program
knows them, so importing both changes nothing twice: the same person, the same registration.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
from openpyxl import Workbook

BEIJING = dt.timezone(dt.timedelta(hours=8))
HEADERS = {"openid": "会员OpenID", "unionid": "UnionID", "member_no": "会员卡号", "phone": "手机号",
           "name": "姓名", "gender": "性别", "birthday": "生日", "registered_at": "注册时间",
           "store_code": "开卡门店", "guide_code": "专属导购", "source": "注册来源"}

MAPPING = """# 旧会员系统导出：上一家 SaaS 服务商的会员 Excel，按此映射导入 (docs/formats.md, column mapping)
kind: members
sheet: 会员
columns:
{columns}
values:
  gender: {{男: M, 女: F}}
"""


def _reproducible(xlsx: bytes) -> bytes:
    """The same seed must give the same bytes: openpyxl stamps the save time into docProps and into
    every zip entry; both are replaced by a fixed time."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write(out: Path, columns: dict[str, pa.Array], reg_ts: np.ndarray, share: float = 0.3) -> dict[str, int]:
    """``columns``: the mini-program's member fields (canonical names); the first ``share`` of them by
    registration time are the vendor's era."""
    n = len(reg_ts)
    keep = np.sort(np.argsort(reg_ts, kind="stable")[: int(n * share)])
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("会员")
    ws.append(list(HEADERS.values()))
    rows = {k: columns[k].take(pa.array(keep)).to_pylist() for k in HEADERS if k != "registered_at"}
    for j, i in enumerate(keep.tolist()):
        row = []
        for k in HEADERS:
            if k == "registered_at":
                # Excel holds wall-clock time without a zone: Beijing time, as the vendor's console showed it
                at = dt.datetime.fromtimestamp(int(reg_ts[i]), BEIJING)
                row.append(at.replace(tzinfo=None))
            elif k == "gender":
                row.append({"M": "男", "F": "女"}.get(rows[k][j] or "", ""))
            elif k == "birthday":
                row.append(dt.date.fromisoformat(rows[k][j]) if rows[k][j] else None)
            else:
                row.append(rows[k][j])
        ws.append(row)
    (out / "legacy").mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    wb.save(buf)
    (out / "legacy/crm_members.xlsx").write_bytes(_reproducible(buf.getvalue()))
    (out / "legacy/crm_members.mapping.yaml").write_text(
        MAPPING.format(columns="\n".join(f"  {k}: {v}" for k, v in HEADERS.items())), encoding="utf-8")
    return {"legacy/crm_members.xlsx": len(keep)}
