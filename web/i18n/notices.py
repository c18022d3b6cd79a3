"""Recall notices, acknowledgements and stop-sale lists: the portal's and the console's words
(web/portal/notices.py, web/console/recall_acks.py, docs/recall-notices.md)."""

from __future__ import annotations

__all__ = ["NOTICE_MESSAGES"]

NOTICE_MESSAGES: dict[str, tuple[str, str]] = {
    "portal.nav.notices": ("召回通知", "Recall notices"),
    "portal.page.notices": ("召回通知", "Recall notices"),
    "portal.page.stop-sale": ("停售清单", "Stop-sale list"),
    "portal.ok.recall_ack": ("已确认收到召回", "Recall acknowledged"),
    "portal.home.notices": (
        "有 {count} 条召回涉及您持有的货物，尚未确认。",
        "{count} recalls reach goods you hold and are not acknowledged yet.",
    ),
    "notice.lead": (
        "监管部门召回了您持有或正在运来的货物。请按要求停止销售，并在此确认。",
        "The regulator has recalled goods you hold or that are on their way to you. Stop selling them as told, and acknowledge here.",
    ),
    "notice.none": ("没有涉及您货物的召回。", "No recall reaches your goods."),
    "notice.recall_of": ("召回：{product}（批次 {lot}）", "Recall: {product} (lot {lot})"),
    "notice.recalled_at": ("召回时间：{time}", "Recalled at {time}"),
    "notice.held": ("在库 {quantity} {unit}", "{quantity} {unit} held"),
    "notice.on_road": ("在途 {quantity} {unit}", "{quantity} {unit} on its way to you"),
    "notice.acknowledged": ("已于 {time} 确认", "Acknowledged at {time}"),
    "notice.not_acknowledged": ("尚未确认", "Not acknowledged yet"),
    "notice.open": ("查看并确认", "Read and acknowledge"),
    "notice.recall_page": ("公开召回页面", "Public recall page"),
    "notice.recall_event": ("召回事件（已签名）", "The signed recall event"),
    "notice.ack_proof": ("确认的账本证明", "Ledger proof of the acknowledgement"),
    "notice.ack_title": ("确认收到召回", "Acknowledge the recall"),
    "notice.ack_hint": (
        "确认是用本机密钥签名的账本事件（召回确认），监管部门可以看到是谁、何时确认的。",
        "The acknowledgement is a ledger event signed with this device's key (recall acknowledged): the regulator sees who acknowledged and when.",
    ),
    "notice.ack_when_received": (
        "货物到达并收货后即可确认召回。",
        "You can acknowledge the recall once the goods have arrived and you have received them.",
    ),
    "notice.note": ("处置说明", "What you did"),
    "notice.note_hint": (
        "例如：已下架 40 公斤，封存待销毁。",
        "For example: 40 kg taken off sale, set aside for destruction.",
    ),
    "notice.ack_submit": ("签名并确认", "Sign and acknowledge"),
    "notice.yes": ("是", "Yes"),
    "notice.no": ("否", "No"),
    "stopsale.title": ("停售清单：{party}", "Stop-sale list: {party}"),
    "stopsale.lead": (
        "被召回批次中仍在库或在途的部分。清单随库存变化：售出、销毁或退回后即不再列出。",
        "What is still held, or on its way, of recalled lots. The list follows the stock: once sold, destroyed or returned, a lot leaves it.",
    ),
    "stopsale.none": ("没有需要停售的货物。", "Nothing to stop selling."),
    "stopsale.csv": ("下载 CSV", "Download CSV"),
    "stopsale.xlsx": ("下载 Excel（XLSX）", "Download Excel (XLSX)"),
    "stopsale.print": ("打印本页即为纸质清单。", "Print this page for a paper list."),
    "console.nav.recalls": ("召回", "Recalls"),
    "console.recalls.title": ("召回确认", "Recall acknowledgements"),
    "console.recalls.none": ("还没有召回。", "No recalls yet."),
    "console.recalls.count": ("{acked}/{total} 已确认", "{acked} of {total} acknowledged"),
    "console.recall_acks.title": ("召回确认：批次 {lot}", "Acknowledgements of the recall of lot {lot}"),
    "console.recall_acks.party": ("持有方", "Holder"),
    "console.recall_acks.holds": ("在库 / 在途", "Held / on its way"),
    "console.recall_acks.status": ("确认", "Acknowledged"),
    "console.recall_acks.list": ("停售清单", "Stop-sale list"),
    "console.recall_acks.link": ("谁已确认召回、谁尚未确认", "Who has acknowledged the recall, and who has not"),
    "console.recall_acks.none": (
        "召回涉及的批次已无人持有。",
        "Nobody holds any of what the recall reaches.",
    ),
}
