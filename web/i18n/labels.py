"""Pre-printed labels' messages: their kind, their rules' refusals, the label's scans on the
consumer page ("labelscan.*") and the console's suspect labels (web/label_scans.py)."""

from __future__ import annotations

__all__ = ["LABEL_MESSAGES"]

LABEL_MESSAGES: dict[str, tuple[str, str]] = {
    "kind.label_activate": ("激活标签", "Labels activated"),
    "console.kind.label_activate": ("激活标签", "Labels activated"),
    "console.rule.label_bound": ("标签已绑定", "Label already bound"),
    "console.rule.label_gtin": ("标签 GTIN 不符", "Label GTIN mismatch"),
    "console.rule_detail.label_bound": (
        "预印标签只能绑定一次：这个标签已经绑定到某个批次。",
        "A pre-printed label binds once: this label is already bound to a lot.",
    ),
    "console.rule_detail.label_gtin": (
        "标签印的 GTIN 与批次产品的 GTIN 不同。",
        "The labels are printed under another GTIN than the lot's product.",
    ),
    "labelscan.title": ("标签扫描记录", "Label scans"),
    "labelscan.serial": ("预印标签 {serial}", "Pre-printed label {serial}"),
    "labelscan.counts": ("此标签已被扫描 {n} 次；首次扫描：{first}。", "This label has been scanned {n} times; first scan: {first}."),
    "labelscan.first_scan": ("这是此标签的首次扫描。", "This is the label's first scan."),
    "labelscan.first_area": ("首次分享的大致位置：{area}（约 10 公里）。", "First area shared: {area} (about 10 km)."),
    "labelscan.activated": ("本标签由签名事件 {id} 激活并绑定到本批次。", "Activated and bound to this lot by signed event {id}."),
    "labelscan.signal": (
        "扫描次数不经签名、不在账本上：仅作提示，不是证明。",
        "Scan counts are not signed and not on the ledger: a signal, not proof.",
    ),
    "labelscan.warn.title": ("警告：此标签可能被复制", "Warning: this label may have been copied"),
    "labelscan.warn.often": (
        "此标签已被扫描 {n} 次，远多于一件商品通常的扫描次数。",
        "This label has been scanned {n} times, far more than one item usually is.",
    ),
    "labelscan.warn.far": (
        "此标签曾在 {area} 附近被扫描，距本批次的销售地约 {km} 公里。",
        "This label was scanned near {area}, about {km} km from where the lot was sold.",
    ),
    "labelscan.warn.advice": (
        "如有疑问，请向销售方或当地市场监管部门核实。",
        "If in doubt, check with the seller or the local market regulator.",
    ),
    "labelscan.sold_unknown": (
        "账本上的销售记录没有坐标，无法比较扫描位置与销售地。",
        "The ledger's sale records have no coordinates: scan areas cannot be compared with where it was sold.",
    ),
    "labelscan.share": ("分享我的大致位置（约 10 公里）", "Share my approximate area (about 10 km)"),
    "labelscan.share.explain": (
        "只有在您点击后才会请求位置；位置四舍五入到 0.1°，不保存任何个人信息。这有助于发现被复制的标签。",
        "Your location is asked for only if you press the button; it is rounded to 0.1° and nothing personal "
        "is kept. It helps find copied labels.",
    ),
    "labelscan.share.done": ("谢谢，已记录大致位置。", "Thank you: the approximate area was recorded."),
    "labelscan.share.failed": ("未能获取位置。", "The location could not be read."),
    "labelscan.inactive.title": ("标签尚未激活", "Label not activated"),
    "labelscan.inactive": (
        "标签 {serial}（GTIN {gtin}）尚未激活：它还没有绑定到任何批次。",
        "Label {serial} (GTIN {gtin}) is not activated: it is not bound to any lot yet.",
    ),
    "labelscan.inactive.hint": (
        "预印标签要由生产或持有该批次的一方在账本上激活后，才能查到批次。如果商品已经在售而标签仍未激活，请谨慎购买并咨询销售方。",
        "A pre-printed label shows its lot once the party that made or holds the lot activates it on the "
        "ledger. If the item is on sale and its label is still not activated, be careful and ask the seller.",
    ),
    "labelscan.bad": ("这不是有效的标签链接：GTIN {gtin} 无效。", "This is not a valid label link: GTIN {gtin} is not valid."),
    "console.nav.labels": ("可疑标签", "Suspect labels"),
    "labelscan.console.title": ("可疑标签", "Suspect labels"),
    "labelscan.console.explain": (
        "扫描超过 {often} 次，或在距销售地 {far} 公里以外被扫描的预印标签（每个标签每 {window} 秒最多计 {per} 次）。扫描次数不在账本上：仅作提示，不是证明。",
        "Pre-printed labels scanned more than {often} times, or more than {far} km from where their lot was "
        "sold (at most {per} scans of a label count per {window} s). Counts are off the ledger: a signal, not proof.",
    ),
    "labelscan.console.none": ("没有可疑标签。", "No suspect labels."),
    "labelscan.col.label": ("标签", "Label"),
    "labelscan.col.lot": ("批次", "Lot"),
    "labelscan.col.scans": ("扫描次数", "Scans"),
    "labelscan.col.first": ("首次扫描", "First scan"),
    "labelscan.col.why": ("原因", "Why"),
    # The portal's form (web/portal/label_activation.py, static/portal-labels.js).
    "portal.page.label_activate": ("激活预印标签", "Activate pre-printed labels"),
    "portal.lead.label_activate": (
        "把一卷预印标签绑定到您的一个批次：每个标签只能绑定一次，绑定后扫码即显示该批次。一次最多 {n} 个。",
        "Bind a roll of pre-printed labels to one of your lots: each label binds once, and once bound its "
        "code opens the lot's page. At most {n} at a time.",
    ),
    "portal.field.label_gtin": ("标签上的 GTIN（商品条码）", "GTIN printed on the labels"),
    "portal.hint.label_gtin": (
        "批次的产品有 GTIN 时须与之相同。",
        "When the lot's product has a GTIN, it must be the same.",
    ),
    "portal.field.serials": ("标签序列号", "Label serials"),
    "portal.hint.serials": (
        "每行一个序列号，或写成范围，如 R7-0001..0500。一次最多 {n} 个。",
        "One serial per line, or a range such as R7-0001..0500. At most {n} at a time.",
    ),
    "portal.submit.label_activate": ("签名并激活", "Sign and activate"),
    "portal.labels.preprinted": (
        "已有预印的序列号标签（GS1 AI 21）？把它们绑定到这个批次，扫码即显示本批次。",
        "Have pre-printed serial labels (GS1 AI 21)? Bind them to this lot, and scanning one opens its page.",
    ),
    "portal.ok.label_activate": ("标签已激活", "Labels activated"),
    "portal.check.range_width": ("范围的起止数字位数要相同，如 0001..0500。", "A range's two numbers have the same width, as in 0001..0500."),
    "portal.check.range_order": ("范围的结束数字不能小于起始数字。", "A range's last number may not be before its first."),
    "portal.check.labels_max": ("一次最多激活 {n} 个标签。", "At most {n} labels at a time."),
    "portal.check.serial": (
        "序列号 {serial} 无效：1 到 20 个字母、数字或 - . _。",
        "Serial {serial} is not valid: 1 to 20 letters, digits or - . _.",
    ),
    "portal.check.serial_twice": ("序列号 {serial} 重复了。", "Serial {serial} is listed twice."),
}
