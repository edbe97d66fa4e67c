"""Goods: products and their SKUs with the attributes tags are built on."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    style: Mapped[str | None] = mapped_column(String(32))
    material: Mapped[str | None] = mapped_column(String(32))
    season: Mapped[str | None] = mapped_column(String(16))
    unisex: Mapped[bool] = mapped_column(Boolean, default=False)
    # M, F or U: who the product is cut for; unisex products match anyone.
    gender: Mapped[str] = mapped_column(String(1), default="U")
    list_price_fen: Mapped[int] = mapped_column(BigInteger)


class Sku(Base):
    __tablename__ = "skus"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    colour: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[str | None] = mapped_column(String(16))
    price_fen: Mapped[int] = mapped_column(BigInteger)
