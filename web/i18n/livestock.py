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
    "origin.farm": ("养殖场", "Farm"),
    "origin.sent_out": ("出栏日期", "Sent out"),
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
    # --- the portal's form for a 动物检疫合格证明 (templates/portal/quarantine.html) ----------------------
    "portal.nav.quarantine": ("动物检疫", "Quarantine"),
    "portal.page.quarantine": ("出具动物检疫合格证明", "Issue an animal quarantine certificate"),
    "portal.lead.quarantine": (
        "检疫合格后，由官方兽医出具。动物证明须列出该批次现有全部牲畜的耳标号；产品证明用于屠宰后的肉品。",
        "Issued by the official veterinarian once the consignment has passed. A certificate for animals "
        "lists the ear tags of every animal now in the lot; one for products covers meat after slaughter.",
    ),
    "portal.submit.quarantine": ("签名并出具证明", "Sign and issue the certificate"),
    "portal.ok.quarantine": ("动物检疫合格证明已出具", "Quarantine certificate issued"),
    "portal.field.q_form": ("证明种类", "Certificate form"),
    "portal.field.q_number": ("证明编号", "Certificate no."),
    "portal.field.owner": ("货主", "Owner"),
    "portal.field.species": ("动物种类", "Species"),
    "portal.field.q_product": ("产品名称（产品证明）", "Product name (product certificates)"),
    "portal.field.purpose": ("用途（动物证明）", "Purpose (animal certificates)"),
    "portal.field.ear_tags": ("牲畜耳标号（动物证明）", "Ear tags (animal certificates)"),
    "portal.hint.ear_tags": (
        "每头一个，15 位数字，用空格或换行分隔；须是该批次现有的全部牲畜。",
        "One per head, 15 digits, separated by spaces or new lines: every animal now in the lot.",
    ),
    "portal.field.q_quantity": ("数量（产品证明）", "Quantity (product certificates)"),
    "portal.hint.q_quantity": (
        "动物证明的数量即耳标个数。",
        "For animals, the quantity is the number of ear tags.",
    ),
    "portal.field.q_origin": ("启运地点", "Place of departure"),
    "portal.field.q_destination": ("到达地点", "Destination"),
    "portal.field.valid_days": ("有效天数", "Valid for (days)"),
    "portal.hint.valid_days": (
        "本批动物或产品应于该天数内到达有效，1 到 30 天。",
        "The consignment must arrive within this many days, 1 to 30.",
    ),
    "portal.field.official_vet": ("官方兽医", "Official veterinarian"),
    "portal.field.carrier": ("承运人", "Carrier"),
    "portal.field.transport": ("运载方式", "Transport"),
    "portal.transport.road": ("公路", "Road"),
    "portal.transport.rail": ("铁路", "Rail"),
    "portal.transport.water": ("水路", "Water"),
    "portal.transport.air": ("航空", "Air"),
    "portal.field.vehicle": ("运载工具牌号", "Vehicle plate"),
    "portal.field.disinfection": ("装运前消毒", "Disinfected before loading with"),
    "portal.field.marks": ("检疫标志号", "Quarantine mark no."),
    "portal.field.q_note": ("备注", "Note"),
    "portal.default.species": ("猪", "pig"),
    "portal.default.purpose": ("屠宰", "slaughter"),
    "portal.check.ear_tag": (
        "耳标号为 15 位数字，首位为畜种（1 猪、2 牛、3 羊），且不能重复。",
        "An ear tag is 15 digits, the first the species (1 pig, 2 cattle, 3 sheep), each listed once.",
    ),
    "portal.check.valid_days": (
        "有效天数为 1 到 30 的整数。",
        "The days valid are a whole number from 1 to 30.",
    ),
    # --- the portal's harvest, transform, ship and sell forms in head (static/portal-livestock.js) -------
    "portal.field.harvest_ear_tags": ("耳标号", "Ear tags"),
    "portal.hint.harvest_ear_tags": (
        "每头一个，15 位数字（首位为畜种：1 猪、2 牛、3 羊），用空格、逗号或换行分隔；个数须等于头数。",
        "One per head, 15 digits (the first the species: 1 pig, 2 cattle, 3 sheep), separated by spaces, "
        "commas or new lines; as many as the number of head.",
    ),
    "portal.field.live_weight": ("活重（公斤）", "Live weight (kg)"),
    "portal.hint.live_weight": (
        "整批牲畜出栏时的总重量（必填：屠宰时的活重按此核对）。",
        "The lot's animals weighed together as they leave (required: a slaughter's live weight is checked against it).",
    ),
    "portal.hint.price_head": (
        "活畜可按头计价，也可按活重每公斤计价。",
        "Live animals may be priced by the head or per kg of live weight.",
    ),
    "portal.transform_type.slaughter": ("屠宰", "Slaughter"),
    "portal.transform_hint.slaughter": ("活畜屠宰为肉品，按重量计", "live animals into meat, by weight"),
    "portal.field.slaughter_live_weight": ("宰前活重（公斤）", "Live weight before slaughter (kg)"),
    "portal.hint.slaughter_live_weight": (
        "本次屠宰的全部牲畜的总重量。",
        "The total weight of all the animals slaughtered.",
    ),
    "portal.field.meat_certificate_no": ("肉品品质检验合格证编号", "Meat quality inspection certificate no."),
    "portal.field.meat_category": ("肉品类别", "Kind of meat"),
    "portal.category.meat": ("肉类", "Meat"),
    "portal.category.frozen_meat": ("冷冻肉", "Frozen meat"),
    "portal.field.out_ear_tags": ("这一批牲畜的耳标号", "Ear tags of this lot's animals"),
    "portal.hint.out_ear_tags": (
        "活畜分批时，每个新批次写明其中牲畜的耳标号，个数等于头数。",
        "When live animals are split, each new lot lists its animals' ear tags, as many as its head.",
    ),
    "portal.transform.animals": ("该批次现有牲畜 {n} 头：{tags}", "{n} head in this lot now: {tags}"),
    "portal.transform.yield": (
        "出肉率 {percent}%（产出 {out} kg ÷ 宰前活重 {live} kg）",
        "Yield {percent}% ({out} kg out ÷ {live} kg live weight)",
    ),
    "portal.transform.yield_band": (
        "{species}的出肉率应在 {low}% 到 {high}% 之间，否则账本将拒收。",
        "The yield of {species} is {low}% to {high}%; the ledger refuses any other.",
    ),
    "portal.transform.recorded_weight": (
        "账本记录这些牲畜的活重为 {kg} kg，宰前活重应在 {low} 到 {high} kg 之间。",
        "The ledger has these animals at {kg} kg live: the weight before slaughter is {low} to {high} kg.",
    ),
    "portal.transform.species.1": ("猪", "pigs"),
    "portal.transform.species.2": ("牛", "cattle"),
    "portal.transform.species.3": ("羊", "sheep"),
    "portal.check.whole_head": ("头数须为整数。", "A number of head is a whole number."),
    "portal.check.ear_tag_count": (
        "{n} 头需要 {n} 个耳标号，这里有 {found} 个。",
        "{n} head need {n} ear tags; {found} are listed.",
    ),
    "portal.check.ear_tag_not_in": (
        "耳标号 {tag} 不在投入的批次中。",
        "Ear tag {tag} is not in a lot put in.",
    ),
    "portal.check.ear_tag_taken": (
        "投入 {n} 头，新批次只写明了其中 {taken} 头的耳标号：每头牲畜都须写明去向。",
        "{n} head go in and the new lots list {taken} of their ear tags: every animal goes on by its tag.",
    ),
    "portal.check.slaughter_head": (
        "屠宰的投入须为活畜（按头计）。",
        "A slaughter takes live animals (counted in head).",
    ),
    "portal.check.slaughter_mass": (
        "屠宰的产出按重量计（如公斤）。",
        "A slaughter's outputs are by weight (such as kg).",
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
