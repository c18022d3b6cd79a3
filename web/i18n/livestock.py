"""Livestock's messages (issue 20 §5, docs/livestock.md): the quarantine kind and the official
veterinarian's role, the rules' refusals (ear_tag, quarantine), the head unit, the slaughter, the
four forms of the 动物检疫合格证明 and the slaughterhouse's 肉品品质检验合格证, as the consumer page
("kind.", "detail.", "unit.", "stage."), the console and the portal say them."""

from __future__ import annotations

__all__ = ["LIVESTOCK_FACT_WORDS", "LIVESTOCK_MESSAGES", "QUARANTINE_FORM_KEYS"]

# One name per form of the 动物检疫合格证明 (trace/model/details.py QUARANTINE_FORMS).
QUARANTINE_FORM_KEYS = {
    "animal_a": "detail.quarantine.form.animal_a",
    "animal_b": "detail.quarantine.form.animal_b",
    "product_a": "detail.quarantine.form.product_a",
    "product_b": "detail.quarantine.form.product_b",
}

LIVESTOCK_MESSAGES: dict[str, tuple[str, str]] = {
    # --- names: the kind, the transform type, the unit, the role, the stage -------------------------
    "kind.quarantine": ("动物检疫", "Animal quarantine"),
    "kind.transform.slaughter": ("屠宰", "Slaughter"),
    "kind.harvest.animals": ("出栏", "Livestock raised"),
    "console.kind.quarantine": ("动物检疫", "Animal quarantine"),
    "unit.head": ("头", "head"),
    "stage.quarantine": ("检疫", "Quarantine"),
    "console.role.veterinarian": ("官方兽医", "Official veterinarian"),
    "portal.role.veterinarian": (
        "官方兽医（动物卫生监督机构）",
        "Official veterinarian (animal health authority)",
    ),
    "portal.role_hint.veterinarian": ("出具动物检疫合格证明", "animal quarantine certificates"),
    # --- the certificates -----------------------------------------------------------------------------
    "detail.quarantine.form.animal_a": (
        "动物检疫合格证明（动物A）",
        "Animal quarantine certificate (animals, A)",
    ),
    "detail.quarantine.form.animal_b": (
        "动物检疫合格证明（动物B）",
        "Animal quarantine certificate (animals, B)",
    ),
    "detail.quarantine.form.product_a": (
        "动物检疫合格证明（产品A）",
        "Animal quarantine certificate (products, A)",
    ),
    "detail.quarantine.form.product_b": (
        "动物检疫合格证明（产品B）",
        "Animal quarantine certificate (products, B)",
    ),
    "detail.meat_certificate.name": ("肉品品质检验合格证", "Meat quality inspection certificate"),
    # --- the consumer page's lines (web/timeline.py, static/facts-view.js) ----------------------------
    "detail.animals": ("出栏 {quantity} {unit}", "{quantity} {unit} of livestock"),
    "detail.live_weight": ("活重 {weight} kg", "Live weight {weight} kg"),
    "detail.farm": ("养殖场：{field}", "Farm: {field}"),
    "detail.ear_tags": ("耳标号（{n} 个）", "Ear tags ({n})"),
    "detail.quarantine.number": ("{form}，编号 {number}", "{form}, no. {number}"),
    "detail.quarantine.animals": ("{species} {quantity} {unit}", "{species}: {quantity} {unit}"),
    "detail.quarantine.product": (
        "产品：{product}，{quantity} {unit}",
        "Product: {product}, {quantity} {unit}",
    ),
    "detail.quarantine.vet": ("官方兽医：{vet}", "Official veterinarian: {vet}"),
    "detail.quarantine.valid": ("签发 {issued}，有效期至 {until}", "Issued {issued}, valid until {until}"),
    "detail.quarantine.destination": ("到达地点：{destination}", "Destination: {destination}"),
    "detail.quarantine.purpose": ("用途：{purpose}", "Purpose: {purpose}"),
    "detail.slaughter.house": ("定点屠宰厂：{party}", "Designated slaughterhouse: {party}"),
    "detail.slaughter.in": (
        "屠宰 {quantity} {unit}，宰前活重 {weight} kg",
        "{quantity} {unit} slaughtered, live weight {weight} kg",
    ),
    "detail.slaughter.out": ("产出 {n} 批，共 {kg} kg：{lots}", "{n} lots out, {kg} kg in all: {lots}"),
    "detail.slaughter.yield": (
        "出肉率 {percent}%（产出重量 ÷ 宰前活重）",
        "Yield {percent}% (weight out ÷ live weight)",
    ),
    "detail.meat_certificate": (
        "肉品品质检验合格证编号：{number}",
        "Meat quality inspection certificate no. {number}",
    ),
    # --- the rules' refusals (trace/rules/livestock.py); the portal's are in portal.py, beside its check
    "console.rule.ear_tag": ("耳标", "Ear tag"),
    "console.rule.quarantine": ("检疫", "Quarantine"),
    "console.rule_detail.ear_tag": (
        "耳标号有误：重复列出、已在账本上，或不是该批次现有的牲畜。",
        "An ear tag is wrong: listed twice, already on record, or not one of the lot's animals now.",
    ),
    "console.rule_detail.quarantine": (
        "缺少有效的动物检疫合格证明或肉品品质检验合格证，或证明与批次不符。",
        "A valid animal quarantine certificate or meat quality inspection certificate is missing, "
        "or does not match the lot.",
    ),
}

# The consumer page's livestock words: kept out of words-zh.js / words-en.js (web/assets.py) and put in
# the page's own config only when its journey has livestock (web/consumer.py), with facts-livestock.js.
LIVESTOCK_FACT_WORDS = tuple(k for k in LIVESTOCK_MESSAGES if not k.startswith(("console.", "portal.")))
