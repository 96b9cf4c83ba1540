"""The RFM segments' words: plain constants, so the card can say them without loading
the database layer (bot/retention/rfm.py scores the segments)."""

from __future__ import annotations

SEGMENT_NO_PURCHASES = "No purchases"

SEGMENT_MEANINGS = {
    "Champions": "bought recently, buys often and spends the most",
    "Loyal": "buys often and spends well, a little less recently",
    "Potential loyalists": "recent buyer with room to grow",
    "New customers": "bought recently, with little history so far",
    "Promising": "recent, but small so far",
    "Need attention": "a fair customer whose buying is slipping",
    "About to sleep": "small and going quiet",
    "Can't lose": "one of the biggest spenders, but has not bought in a long time",
    "At risk": "used to buy well, has not bought for a while",
    "Hibernating": "small, infrequent and not recent",
    "Lost": "small, rare and long-ago orders",
    SEGMENT_NO_PURCHASES: "no order on record yet",
}
