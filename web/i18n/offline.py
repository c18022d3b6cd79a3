"""The offline portal's messages (keys "portal.offline.*", and the outbox page's title and one check),
merged into the one catalogue by web/i18n/__init__.py.

What static/portal-outbox.js and the outbox page say about pages saved on the device, the queue of
events signed offline (waiting, recorded, refused), and the installable app (web/portal/offline.py).
Simplified Chinese first, English second, the same {placeholders} in both.
"""

from __future__ import annotations

__all__ = ["OFFLINE_MESSAGES"]

OFFLINE_MESSAGES: dict[str, tuple[str, str]] = {
    # --- the installable app (the manifest) ---
    "portal.offline.app_short": ("溯源工作台", "Trace portal"),
    "portal.offline.app_description": (
        "农户、检测站、市场和商店登记采收、检测、合格证和发货；没有网络时也能先在本机签名保存。",
        "Farms, test stations, markets and shops record harvests, tests, certificates and shipments; "
        "without a network they are signed and kept on the device first.",
    ),
    # --- a page from the device's cache ---
    "portal.offline.cached": (
        "离线：这是本机 {time} 保存的页面，批次和数量可能不是最新的。",
        "Offline: this page was saved on this device at {time}; its lots and quantities may be out of date.",
    ),
    "portal.offline.miss": (
        "离线：这个页面没有保存在本机，联网后才能打开。下面是本机保存的记录。",
        "Offline: this page was not saved on this device; it opens once the network is back. "
        "Below is what this device holds.",
    ),
    "portal.offline.pending_lot": ("待发送", "not sent yet"),
    "portal.check.offline_lookup": (
        "没有网络，无法查询这个批次。联网后再查询，或选择本机登记的批次。",
        "No network: this lot cannot be looked up. Look it up once online, or use a lot recorded on this device.",
    ),
    # --- the bar on every portal page ---
    "portal.offline.bar_waiting": ("{n} 条记录待发送", "{n} waiting to be sent"),
    "portal.offline.bar_refused": ("{n} 条被拒绝", "{n} refused"),
    "portal.offline.bar_recorded": ("{n} 条已写入账本", "{n} recorded"),
    "portal.offline.bar_link": ("查看发件箱", "Open the outbox"),
    "portal.offline.no_network": ("当前没有网络", "No network right now"),
    # --- a form whose event waits ---
    "portal.offline.queued_title": ("已保存在本机，等待发送", "Saved on this device, waiting to be sent"),
    "portal.offline.queued_text": (
        "记录已用您的密钥签名并保存在本机，网络恢复后会自动发送。发送前请不要清除浏览器数据。",
        "The record is signed with your key and kept on this device; it is sent by itself when the "
        "network returns. Do not clear the browser's data before then.",
    ),
    # --- the outbox page ---
    "portal.page.outbox": ("发件箱", "Outbox"),
    "portal.offline.lead": (
        "在本机签名的记录先保存在这里，有网络时按登记顺序逐条发送；服务器确认后才算写入账本。",
        "Records signed on this device are kept here and sent one by one, in the order they were made, "
        "whenever there is a network; a record is in the ledger once the server has answered.",
    ),
    "portal.offline.loading": ("正在读取本机保存的记录……", "Reading what this device holds..."),
    "portal.offline.no_key": (
        "本机没有密钥，因此没有待发送的记录。",
        "This device holds no key, so it holds no records to send.",
    ),
    "portal.offline.no_storage": (
        "这个浏览器不能在本机保存记录（可能是隐私模式）。",
        "This browser cannot keep records on the device (a private window?).",
    ),
    "portal.offline.waiting": ("待发送", "Waiting"),
    "portal.offline.recorded": ("已写入账本", "Recorded"),
    "portal.offline.refused": ("被拒绝", "Refused"),
    "portal.offline.none": ("没有。", "None."),
    "portal.offline.signed_at": ("本机签名于 {time}", "Signed on this device at {time}"),
    "portal.offline.tries": ("已尝试次数：{n}；下次尝试：{time}", "Tries so far: {n}; next try: {time}"),
    "portal.offline.not_tried": ("等待网络后发送", "To be sent when the network is there"),
    "portal.offline.last_error": ("上次失败：{why}", "Last failure: {why}"),
    "portal.offline.no_answer": ("没有收到服务器的答复", "no answer from the server"),
    "portal.offline.entry": ("账本第 {index} 条", "Ledger entry {index}"),
    "portal.offline.duplicate": (
        "（服务器此前已收到同一条记录，只登记一次）",
        "(the server had it already: recorded once)",
    ),
    "portal.offline.certificate": ("查看合格证", "Open the certificate"),
    "portal.offline.send_now": ("立即发送", "Send now"),
    "portal.offline.send_again": ("重新发送", "Send again"),
    "portal.offline.remove": ("从本机删除", "Remove from this device"),
    "portal.offline.sent": ("已发送 {n} 条记录。", "{n} records sent."),
    "portal.offline.back": ("返回我的批次", "Back to my lots"),
}
