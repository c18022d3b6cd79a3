""" "Watch this product": the consumer page's button and the recall notice a watcher's browser shows
(web/watch.py, static/watch.js, trace/push_watch.py, docs/recall-notices.md)."""

from __future__ import annotations

__all__ = ["WATCH_MESSAGES"]

WATCH_MESSAGES: dict[str, tuple[str, str]] = {
    "watch.button": ("关注此产品（召回时通知我）", "Watch this product (notify me of a recall)"),
    "watch.note": (
        "如果此批次或其原料被召回，浏览器会通知您。我们不保存任何关于您的个人信息。",
        "If this lot, or a lot it was made from, is recalled, your browser will tell you. Nothing personal about you is stored.",
    ),
    "watch.watching": ("已关注", "Watching"),
    "watch.stop": ("取消关注", "Stop watching"),
    "watch.stopped": ("已取消关注", "No longer watching"),
    "watch.busy": ("请稍候…", "One moment…"),
    "watch.denied": (
        "浏览器未允许通知，无法关注。",
        "The browser did not allow notifications: not watching.",
    ),
    "watch.failed": (
        "无法关注：浏览器的推送服务不可用。未保存任何信息。",
        "Could not watch: the browser's push service is not available. Nothing was stored.",
    ),
    "watch.push.title": ("召回：{product}", "Recall: {product}"),
    "watch.push.body": (
        "{product}（批次 {lot}）已被召回：{reason}",
        "{product} (lot {lot}) has been recalled: {reason}",
    ),
    "watch.push.body_from": (
        "{product}（批次 {lot}）的来源批次 {recalled} 已被召回：{reason}",
        "{product} (lot {lot}) was made from lot {recalled}, which has been recalled: {reason}",
    ),
}
