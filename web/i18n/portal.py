"""The portal's messages (keys "portal.*"), merged into the one catalogue by web/i18n/__init__.py.

(Over 400 lines: a catalogue is data, one message a line or three; splitting it further would
scatter one page family's words.)

Simplified Chinese first, English second, the same {placeholders} in both. The browser gets the
"portal." messages as JSON (Translator.catalogue) for what static/portal.js says: one message per
rule of trace/rules/check.py (portal.rule.*) and per check the page makes before signing (portal.check.*).
"""
# size: a catalogue is data, one message a line or three (see the docstring)

from __future__ import annotations

from farmtrace.trace.rules import RULES

__all__ = ["PORTAL_MESSAGES"]

PORTAL_MESSAGES: dict[str, tuple[str, str]] = {
    # --- chrome ---
    "portal.name": ("经营主体工作台", "Producers' and traders' portal"),
    "portal.nav.label": ("工作台菜单", "Portal menu"),
    "portal.nav.lots": ("我的批次", "My lots"),
    "portal.nav.harvest": ("采收", "Harvest"),
    "portal.nav.inspect": ("检测", "Inspect"),
    "portal.nav.certify": ("开合格证", "Certificate"),
    "portal.nav.receive": ("收货", "Receive"),
    "portal.nav.transform": ("分批/合并/分装", "Split · merge · repack"),
    "portal.nav.ship": ("发货", "Ship"),
    "portal.nav.sell": ("销售", "Sell"),
    "portal.nav.label_activate": ("激活标签", "Activate labels"),
    "portal.nav.key": ("更换密钥（设备丢失）", "New key (lost device)"),
    "portal.signout": ("退出", "Sign out"),
    "portal.noscript": (
        "工作台需要开启 JavaScript：记录在本机用您的密钥签名后才发送。",
        "The portal needs JavaScript: records are signed with your key on this device before they are sent.",
    ),
    "portal.optional": ("（选填）", "(optional)"),
    "portal.or": ("或", " or "),
    "portal.more": ("时间和地点", "Time and place"),
    "portal.signed_here": (
        "提交时将在本机用您的密钥签名，私钥不会离开本设备。",
        "On submit, this record is signed on this device with your key; the private key never leaves it.",
    ),
    "portal.sending": ("正在签名并提交…", "Signing and sending…"),
    "portal.choose_lot": ("— 选择批次 —", "— choose a lot —"),
    "portal.choose_party": ("— 选择收货方 —", "— choose the receiver —"),
    "portal.add_lot": ("＋ 再加一个批次", "+ Add another lot"),
    "portal.add_output": ("＋ 再加一个新批次", "+ Add another new lot"),
    "portal.remove_row": ("删除这一行", "Remove this row"),
    "portal.lookup": ("查询", "Look up"),
    "portal.lot_info": ("{product}，批次数量 {quantity} {unit}", "{product}, lot of {quantity} {unit}"),
    "portal.key_id": ("密钥编号", "Key id"),
    # --- page titles and leads ---
    "portal.page.home": ("登录", "Sign in"),
    "portal.page.enroll": ("申请入驻", "Enroll"),
    "portal.page.key": ("设备丢失：申请新密钥", "Lost device: apply for a new key"),
    "portal.page.lots": ("我的批次", "My lots"),
    "portal.page.harvest": ("记录采收", "Record a harvest"),
    "portal.page.inspect": ("记录检测结果", "Record a test result"),
    "portal.page.certify": ("开具承诺达标合格证", "Issue a compliance certificate"),
    "portal.page.receive": ("收货与入市查验", "Receive, with the market-entry check"),
    "portal.page.transform": ("分批、合并、分装", "Split, merge, repack"),
    "portal.page.ship": ("发货", "Ship"),
    "portal.page.sell": ("记录销售", "Record a sale"),
    "portal.page.labels": ("打印溯源标签", "Print trace labels"),
    "portal.page.certificate": ("承诺达标合格证", "Compliance certificate"),
    "portal.lead.harvest": (
        "采收后立即登记，生成新批次。每个批次号只能使用一次。",
        "Register a harvest as a new lot. Each lot code can be used only once.",
    ),
    "portal.lead.inspect": (
        "对任一批次登记一项检测。不合格的批次将被冻结，不能发货、销售或加工。",
        "Record one test of one lot. A failed lot is blocked: it cannot be shipped, sold or processed.",
    ),
    "portal.lead.certify": (
        "为您持有的批次开具承诺达标合格证，随货同行；开具后可打印带溯源码的合格证。",
        "Issue the certificate that travels with your lot; then print it with the lot's QR code.",
    ),
    "portal.lead.receive": (
        "以下是发给您、尚未收货的货物。收货前请查验合格证或检测报告。",
        "Shipments sent to you and not yet received. Check the certificate or test report before accepting.",
    ),
    "portal.lead.transform": (
        "把批次分成多个新批次、把多个批次合并，或分装成小包装。产出不能多于投入。",
        "Split a lot into new lots, merge lots, or repack into smaller packs. Outputs may not exceed inputs.",
    ),
    "portal.lead.ship": (
        "发出的货物在收货方确认前显示为“运输中”。产地准出：批次须有合格检测或合格证。",
        "Goods stay “in transit” until the receiver confirms. Origin exit: a lot needs a passing test or a certificate.",
    ),
    "portal.lead.sell": (
        "记录销售数量和价格。价格会显示在消费者扫码看到的页面上。",
        "Record what you sold and the price. Prices appear on the page consumers see when they scan.",
    ),
    # --- roles ---
    "portal.role.producer": ("生产者（合作社、家庭农场）", "Producer (cooperative, family farm)"),
    "portal.role.inspector": ("检测机构（检测站、快检室）", "Inspection station or lab"),
    "portal.role.processor": ("加工企业", "Processor"),
    "portal.role.wholesaler": ("批发市场、批发商", "Wholesale market or wholesaler"),
    "portal.role.retailer": ("零售（超市、摊位）", "Retailer (supermarket, stall)"),
    "portal.role.regulator": ("监管部门", "Regulator"),
    "portal.role_hint.producer": ("采收、开合格证、发货", "harvest, certificates, shipping"),
    "portal.role_hint.inspector": ("录入检测结果", "test results"),
    "portal.role_hint.processor": ("收货、加工、发货", "receive, process, ship"),
    "portal.role_hint.wholesaler": ("入市查验、分批、批发", "entry checks, splitting, wholesale"),
    "portal.role_hint.retailer": ("收货、分装、贴码、零售", "receive, repack, label, retail"),
    # --- fields ---
    "portal.field.party_id": (
        "统一社会信用代码或农户登记号",
        "Unified social credit code or farmer registration no.",
    ),
    "portal.field.name_zh": ("名称（中文）", "Name (Chinese)"),
    "portal.field.name_en": ("名称（英文）", "Name (English)"),
    "portal.field.roles": ("经营类型（可多选）", "What you do (choose all that apply)"),
    "portal.field.address": ("地址", "Address"),
    "portal.field.contact_person": ("联系人", "Contact person"),
    "portal.field.phone": ("联系电话", "Phone"),
    "portal.field.product_name_zh": ("产品名称", "Product name (Chinese)"),
    "portal.field.product_name_en": ("产品英文名", "Product name (English)"),
    "portal.field.variety": ("品种", "Variety"),
    "portal.field.category": ("类别", "Category"),
    "portal.field.quantity": ("数量", "Quantity"),
    "portal.field.unit": ("单位", "Unit"),
    "portal.field.new_lot": ("新批次号", "New lot code"),
    "portal.field.lot": ("批次", "Lot"),
    "portal.field.lot_code": ("批次号", "Lot code"),
    "portal.field.origin_name": ("地块/基地", "Field or plot"),
    "portal.field.origin_address": ("地块地址", "Address of the field"),
    "portal.field.gtin": ("商品条码", "GTIN (barcode)"),
    "portal.field.price_production": ("产地价（元）", "Farm-gate price (CNY)"),
    "portal.field.price_trade": ("成交价（元）", "Trade price (CNY)"),
    "portal.field.price_sale": ("售价（元）", "Sale price (CNY)"),
    "portal.field.price_unit": ("每", "Per"),
    "portal.field.stage": ("销售类型", "Kind of sale"),
    "portal.field.sample_quantity": ("所检批次数量", "Quantity of the lot tested"),
    "portal.field.analyte": ("检测项目", "Test"),
    "portal.field.method": ("检测方法", "Method"),
    "portal.field.value": ("检测值", "Result value"),
    "portal.field.limit": ("限值", "Limit"),
    "portal.field.test_unit": ("单位", "Unit of the result"),
    "portal.field.result": ("结论", "Verdict"),
    "portal.field.report_no": ("检测报告编号", "Test report no."),
    "portal.field.cert_quantity": ("数量（重量）", "Quantity (weight)"),
    "portal.field.certificate_no": ("合格证编号", "Certificate no."),
    "portal.field.product_name": ("食用农产品名称", "Product name on the certificate"),
    "portal.field.cert_origin": ("产地", "Place of origin"),
    "portal.field.cert_contact": ("联系方式", "Contact"),
    "portal.field.commitments": ("承诺内容与依据", "Commitments and their basis"),
    "portal.field.destination": ("收货方", "Receiver"),
    "portal.field.temperature": ("温度（°C）", "Temperature (°C)"),
    "portal.field.received_quantity": ("实收数量", "Quantity received"),
    "portal.field.checked_certificate": ("查验的合格证编号", "Certificate no. checked"),
    "portal.field.checked_inspection": ("查验的检测记录", "Test record checked"),
    "portal.field.note": ("查验备注", "Note on the check"),
    "portal.field.transform_type": ("操作", "Operation"),
    "portal.field.event_time": ("发生时间", "When"),
    "portal.field.place_name": ("地点名称", "Place"),
    "portal.field.place_address": ("地点地址", "Address of the place"),
    "portal.hint.party_id": (
        "18 位统一社会信用代码，或农户登记号（如 F430124-000123）。",
        "The 18-character unified social credit code, or a farmer registration no. such as F430124-000123.",
    ),
    "portal.hint.lot_code": (
        "最多 20 位字母、数字或 - . _ /，印在标签上。",
        "Up to 20 letters, digits or - . _ /; printed on the label.",
    ),
    "portal.hint.origin_name": ("如：金洲镇 3 号蔬菜基地", "e.g. Jinzhou vegetable base no. 3"),
    "portal.hint.gtin": ("有条码的包装商品才填。", "Only for packaged products with a barcode."),
    "portal.hint.price": ("可不填；填写后会公开显示。", "Optional; shown publicly if given."),
    "portal.hint.inspect_quantity": ("默认为整个批次。", "Defaults to the whole lot."),
    "portal.hint.result": (
        "检测值不超过限值为合格。",
        "Pass means the value is within the limit.",
    ),
    "portal.hint.default_held": ("默认为您持有的数量。", "Defaults to what you hold."),
    "portal.hint.from_lot": ("默认取所选批次的产品名。", "Taken from the chosen lot unless you change it."),
    "portal.hint.cert_contact": (
        "印在合格证上，公开可见。",
        "Printed on the certificate, so it is public.",
    ),
    "portal.hint.temperature": ("冷链可填，可为负数。", "For the cold chain; may be negative."),
    "portal.hint.checked_certificate": (
        "填写随货合格证上的编号，应与上方登记的一致。",
        "The number on the certificate that came with the goods; it should match one on record above.",
    ),
    "portal.hint.event_time": (
        "不填则为提交时的时间。",
        "Leave empty for the time you submit.",
    ),
    "portal.default.category": ("蔬菜", "Vegetables"),
    "portal.default.analyte": (
        "有机磷和氨基甲酸酯类农药残留",
        "Organophosphate and carbamate pesticide residues",
    ),
    "portal.default.method": ("GB/T 5009.199 速测卡法", "GB/T 5009.199 rapid test card"),
    "portal.default.test_unit": ("%抑制率", "% inhibition"),
    "portal.result.pass": ("合格", "Pass"),
    "portal.result.fail": ("不合格", "Fail"),
    # --- submit buttons and results ---
    "portal.submit.harvest": ("签名并登记采收", "Sign and record the harvest"),
    "portal.submit.inspect": ("签名并登记检测结果", "Sign and record the result"),
    "portal.submit.certify": ("签名并开具合格证", "Sign and issue the certificate"),
    "portal.submit.receive": ("签名并确认收货", "Sign and record the receipt"),
    "portal.submit.transform": ("签名并登记", "Sign and record"),
    "portal.submit.ship": ("签名并发货", "Sign and ship"),
    "portal.submit.sell": ("签名并登记销售", "Sign and record the sale"),
    "portal.ok.harvest": ("采收已登记", "Harvest recorded"),
    "portal.ok.inspect": ("检测结果已登记", "Test result recorded"),
    "portal.ok.certify": ("合格证已开具", "Certificate issued"),
    "portal.ok.receive": ("收货已登记", "Receipt recorded"),
    "portal.ok.transform": ("已登记", "Recorded"),
    "portal.ok.ship": ("已发货，等待对方收货", "Shipped; waiting for the receiver"),
    "portal.ok.sell": ("销售已登记", "Sale recorded"),
    "portal.ok.ledger": ("已写入账本第 {index} 条。", "Written to the ledger as entry {index}."),
    "portal.ok.proof": ("下载离线证明（.tlog-proof）", "Download the offline proof (.tlog-proof)"),
    "portal.ok.labels": ("打印标签", "Print labels"),
    "portal.ok.labels_all": ("打印全部新批次标签（PDF）", "Print all new lots' labels (PDF)"),
    "portal.ok.another": ("再登记一笔", "Record another"),
    # --- checks before signing ---
    "portal.check.required": ("请填写这一项。", "Please fill this in."),
    "portal.check.number": ("请填写数字，如 12.5。", "Please enter a number, such as 12.5."),
    "portal.check.places": ("最多 {places} 位小数。", "At most {places} decimal places."),
    "portal.check.too_big": ("数字太大。", "That number is too large."),
    "portal.check.positive": ("必须大于 0。", "Must be more than 0."),
    "portal.check.party_id": (
        "统一社会信用代码为 18 位（数字和大写字母，不含 I、O、S、V、Z）。",
        "A unified social credit code has 18 characters (digits and capitals, no I, O, S, V or Z).",
    ),
    "portal.check.uscc_check": (
        "代码校验位不对（最后一位应为 {want}），请核对营业执照。",
        "The check character is wrong (the last one should be {want}); check the business licence.",
    ),
    "portal.check.farmer_id": (
        "农户登记号的格式为 F430124-000123。",
        "A farmer registration no. looks like F430124-000123.",
    ),
    "portal.check.lot_code": (
        "批次号为 1–20 位字母、数字或 - . _ /。",
        "A lot code is 1 to 20 letters, digits or - . _ /.",
    ),
    "portal.check.time": ("时间格式不对。", "That is not a valid time."),
    "portal.check.choose_lot": ("请选择批次。", "Please choose a lot."),
    "portal.check.twice": ("同一批次出现了两次。", "The same lot appears twice."),
    "portal.check.lot_unknown": ("账本中没有这个批次号。", "The ledger has no lot with this code."),
    "portal.check.gtin": ("商品条码为 8、12、13 或 14 位数字。", "A GTIN is 8, 12, 13 or 14 digits."),
    "portal.check.result": ("请选择合格或不合格。", "Please choose pass or fail."),
    "portal.check.pass_over_limit": (
        "检测值超过限值，不能判为合格。",
        "The value is over the limit: this cannot be a pass.",
    ),
    "portal.check.fail_under_limit": (
        "检测值未超过限值，请确认结论。",
        "The value is within the limit: check the verdict.",
    ),
    "portal.check.commitments": ("请至少勾选一项承诺。", "Tick at least one commitment."),
    "portal.check.roles": ("请至少选择一种经营类型。", "Choose at least one."),
    "portal.check.no_key": (
        "本机没有您的密钥，请先登录或申请入驻。",
        "This device holds no key of yours: sign in or enroll first.",
    ),
    "portal.check.other_key": (
        "本机的密钥属于 {party}，与当前登录的主体不同。请重新登录。",
        "The key on this device belongs to {party}, not the party signed in. Please sign in again.",
    ),
    "portal.check.replace": (
        "本机已有 {party} 的密钥。确认替换请勾选上面一项；旧密钥将从本机删除。",
        "This device already holds a key of {party}. Tick the box above to replace it; the old key will be removed from this device.",
    ),
    "portal.check.not_registered": (
        "这个主体尚未登记。新主体请使用“申请入驻”。",
        "This party is not registered. A new party should enroll instead.",
    ),
    # --- refusals by the ledger's rules (trace/rules/check.py RULES) ---
    "portal.rule.party_unknown": (
        "您的主体尚未登记，不能记录。",
        "Your party is not registered, so it cannot record.",
    ),
    "portal.rule.party_suspended": (
        "您的主体已被监管部门暂停，不能记录。",
        "Your party has been suspended by the regulator and cannot record.",
    ),
    "portal.rule.party_exists": ("这个主体已经登记过了。", "This party is already registered."),
    "portal.rule.key_unknown": (
        "本机的密钥尚未获批。请等待监管部门审核。",
        "The key on this device has not been approved yet. Wait for the regulator.",
    ),
    "portal.rule.key_inactive": (
        "本机的密钥已被吊销或尚未生效。如设备丢失，请申请新密钥。",
        "The key on this device is revoked or not yet valid. If a device was lost, apply for a new key.",
    ),
    "portal.rule.key_exists": ("这个密钥已经登记过了。", "This key is already registered."),
    "portal.rule.role": (
        "您的经营类型不能记录这类事项。",
        "Your party's roles do not allow recording this.",
    ),
    "portal.rule.lot_unknown": ("账本中没有这个批次。", "The ledger has no such lot."),
    "portal.rule.lot_exists": (
        "这个批次号已被使用，请换一个新的批次号。",
        "This lot code is already in use: choose a new one.",
    ),
    "portal.rule.follows": (
        "这个批次刚有新的记录，请刷新页面后重试。",
        "Something was just recorded on this lot: reload the page and try again.",
    ),
    "portal.rule.time_order": (
        "时间早于该批次的上一条记录，请检查时间。",
        "This time is before the lot's previous record: check the time.",
    ),
    "portal.rule.future": (
        "时间晚于现在：请检查手机的日期和时间。",
        "This time is in the future: check the phone's date and time.",
    ),
    "portal.rule.unit": (
        "单位与批次不符（重量只能换算为重量，件数不能换算为重量）。",
        "The unit does not fit the lot (mass converts only to mass, counts not at all).",
    ),
    "portal.rule.quantity": (
        "数量超过了该批次的总量。",
        "This is more than the whole lot.",
    ),
    "portal.rule.custody": (
        "您并不持有这个批次（可能已发出或售出），或这批货不是发给您的。",
        "You do not hold this lot (it may have been shipped or sold), or these goods were not sent to you.",
    ),
    "portal.rule.mass_balance": (
        "数量不平衡：超过了您持有的数量，或产出多于投入。",
        "The quantities do not balance: more than you hold, or more out than in.",
    ),
    "portal.rule.origin_exit": (
        "产地准出：该批次没有合格的检测记录或合格证，不能发货。请先检测或开具合格证。",
        "Origin exit: this lot has no passing test or certificate and cannot be shipped. Test it or issue a certificate first.",
    ),
    "portal.rule.market_entry": (
        "市场准入：接收货物须查验合格证或检测记录，请填写查验的合格证编号或选择检测记录。",
        "Market entry: accepting goods needs a checked certificate or test record. Enter the certificate no. or choose a test record.",
    ),
    "portal.rule.blocked": (
        "该批次检测不合格、已被召回或被拒收，已冻结，不能发货、销售、加工或开证。",
        "This lot failed a test, was recalled or was refused at entry: it is blocked from shipping, sale, processing and certificates.",
    ),
    "portal.rule.genesis": (
        "账本上还没有监管部门；第一个监管部门只能由系统管理员在服务器上登记。",
        "The ledger has no regulator yet; only the operator can register the first one, on the server.",
    ),
    "portal.rule.destination": (
        "收货方不能接收货物（未登记、已暂停、不是收货类主体，或是您自己）。",
        "The receiver cannot take goods (not registered, suspended, not a receiving party, or yourself).",
    ),
    "portal.rule.recall_unknown": ("账本上没有这个召回。", "The ledger has no such recall."),
    "portal.rule.not_affected": (
        "这个批次不在召回范围内，或您从未持有它。",
        "This lot is not reached by the recall, or you never held any of it.",
    ),
    # --- other problems ---
    "portal.problem.invalid": ("这一项填写有误。", "This entry is not accepted."),
    "portal.problem.refused": ("未被接受。", "Not accepted."),
    "portal.problem.signature": (
        "签名未通过验证：本机的密钥未在账本登记。",
        "The signature was not accepted: the key on this device is not registered.",
    ),
    "portal.problem.forbidden": ("没有权限，请重新登录。", "Not allowed: please sign in again."),
    "portal.problem.not_found": ("没有找到。", "Not found."),
    "portal.problem.server": (
        "服务器暂时无法处理（{status}），请稍后重试；填写的内容已保留。",
        "The server could not handle this ({status}). Try again later; what you entered is kept.",
    ),
    "portal.problem.network": (
        "网络不通，未能提交。填写的内容已保留，网络恢复后再点一次即可（不会重复记录）。",
        "No connection: nothing was sent. What you entered is kept; press the button again when you are back online (it will not be recorded twice).",
    ),
    "portal.problem.browser": (
        "此浏览器无法完成签名，请更新浏览器。",
        "This browser could not sign the record. Please update the browser.",
    ),
    "portal.problem.see_field": ("未记录：请查看标出的项目。", "Not recorded: see the marked entry."),
    # --- status badges ---
    "portal.badge.passed": ("合格", "Passed"),
    "portal.badge.failed": ("检测不合格", "Failed test"),
    "portal.badge.recalled": ("已召回", "Recalled"),
    "portal.badge.rejected": ("入市被拒", "Refused at entry"),
    "portal.badge.unchecked": ("待检测/待开证", "Not yet tested or certified"),
    "portal.badge.transit": ("运输中", "In transit"),
    "portal.badge.delivered": ("已送达", "Delivered"),
    # --- home, enrollment, keys ---
    "portal.home.title": ("经营主体工作台", "Producers' and traders' portal"),
    "portal.home.signed_in": ("已登录：{name}", "Signed in as {name}"),
    "portal.home.this_device": ("本机密钥", "The key on this device"),
    "portal.home.key_of": ("主体", "Party"),
    "portal.home.checking": ("正在查看本机密钥…", "Looking for a key on this device…"),
    "portal.home.no_key": (
        "本机还没有密钥。新主体请申请入驻；已登记的主体换了手机，请申请新密钥。",
        "This device holds no key. A new party enrolls; a registered party on a new phone applies for a new key.",
    ),
    "portal.home.no_storage": (
        "此浏览器不能保存密钥（可能处于无痕模式）。",
        "This browser cannot keep a key (private browsing?).",
    ),
    "portal.home.state.active": ("密钥有效，可以登录。", "The key is active: you can sign in."),
    "portal.home.state.pending": (
        "入驻申请等待监管部门审核。审核通过后即可登录。",
        "The enrollment is waiting for a regulator's approval. You can sign in once it is approved.",
    ),
    "portal.home.state.pending_key": (
        "新密钥等待监管部门审核。",
        "The new key is waiting for a regulator's approval.",
    ),
    "portal.home.state.revoked": (
        "本机的密钥已被吊销。请申请新密钥。",
        "The key on this device has been revoked. Apply for a new key.",
    ),
    "portal.home.state.suspended": (
        "该主体已被监管部门暂停。",
        "This party has been suspended by the regulator.",
    ),
    "portal.home.signin": ("用本机密钥登录", "Sign in with this device's key"),
    "portal.home.recheck": ("刷新审核状态", "Check again"),
    "portal.home.new_title": ("还没有密钥？", "No key yet?"),
    "portal.home.new_text": (
        "密钥在本机生成、只存在本机，任何人（包括平台）都拿不到您的私钥。",
        "Your key is made on this device and stays on it: nobody, not even the platform, can read the private key.",
    ),
    "portal.home.enroll": ("申请入驻", "Enroll"),
    "portal.home.lost": (
        "已登记但换了手机或手机丢失？申请新密钥",
        "Registered, but a new or lost phone? Apply for a new key",
    ),
    "portal.home.import": ("使用密钥文件", "Use a key file"),
    "portal.home.import_hint": (
        "用 farmtrace 命令行生成的密钥文件可导入一次；导入后保存在本机且不可导出，请随后删除文件。",
        "A key file made with the farmtrace command can be imported once; it is then kept on this device and cannot be exported. Delete the file afterwards.",
    ),
    "portal.home.keyfile": ("选择密钥文件", "Choose the key file"),
    "portal.home.import_failed": ("无法导入这个文件。", "This file could not be imported."),
    "portal.home.forget": ("从本机删除密钥", "Remove the key from this device"),
    "portal.home.forget_hint": (
        "删除后本机无法再签名；如没有其他设备持有密钥，需要申请新密钥。",
        "This device will no longer be able to sign; without another device holding a key you will need a new one.",
    ),
    "portal.home.forget_button": ("删除本机密钥", "Remove the key"),
    "portal.enroll.lead": (
        "填写主体信息。提交时本机生成您的签名密钥，并把公钥连同申请交监管部门审核。",
        "Fill in your details. On submit this device makes your signing key and sends its public half with the application for a regulator's approval.",
    ),
    "portal.enroll.private": ("联系信息（不公开）", "Contact details (kept private)"),
    "portal.enroll.private_hint": (
        "只交给监管部门，账本上只公开其密码学承诺。",
        "Only the regulator sees these; the public ledger holds only a cryptographic commitment to them.",
    ),
    "portal.enroll.replace_warning": (
        "本机已保存了其他主体的密钥。",
        "This device already holds another party's key.",
    ),
    "portal.enroll.replace_confirm": ("替换本机的密钥", "Replace the key on this device"),
    "portal.enroll.submit": ("生成密钥并提交申请", "Make my key and apply"),
    "portal.enroll.waiting_title": ("等待监管部门审核", "Waiting for a regulator's approval"),
    "portal.enroll.waiting": (
        "申请 #{id} 已提交（{party}）。审核通过后，本机即可登录并签名记录。",
        "Application #{id} filed for {party}. Once approved, this device can sign in and record.",
    ),
    "portal.enroll.waiting_hint": (
        "请把上面的密钥编号告诉审核人员，以便核对。",
        "Tell the reviewing officer the key id above so they can check it is yours.",
    ),
    "portal.key.lead": (
        "手机丢失或更换时，在新设备上生成新密钥，交监管部门审核。",
        "If a phone is lost or replaced, make a new key on the new device and file it for approval.",
    ),
    "portal.key.step1": (
        "本机生成新密钥（私钥不离开本机）。",
        "This device makes a new key (the private key never leaves it).",
    ),
    "portal.key.step2": (
        "监管部门吊销旧密钥：丢失设备上的密钥从此不能再签名。",
        "A regulator revokes the old key: the lost device can sign nothing more.",
    ),
    "portal.key.step3": (
        "监管部门批准新密钥后即可登录。",
        "Once the regulator approves the new key, sign in.",
    ),
    "portal.key.replace_warning": (
        "本机已有一个密钥。替换后，在新密钥获批前本机不能签名。",
        "This device already holds a key. After replacing it, it cannot sign until the new key is approved.",
    ),
    "portal.key.submit": ("生成新密钥并提交申请", "Make a new key and apply"),
    "portal.key.waiting_title": ("新密钥等待审核", "New key waiting for approval"),
    "portal.key.waiting": (
        "申请 #{id} 已提交（{party}）。请联系监管部门：吊销旧密钥，并批准新密钥。",
        "Application #{id} filed for {party}. Ask the regulator to revoke the old key and approve the new one.",
    ),
    "portal.key.new_key": ("新密钥编号", "New key id"),
    "portal.key.old_keys": ("需吊销的旧密钥", "Old key(s) to revoke"),
    "portal.key.waiting_hint": (
        "在旧密钥被吊销之前，捡到旧设备的人仍可能冒用它签名，请尽快联系监管部门。",
        "Until the old key is revoked, whoever has the old device could sign with it: contact the regulator soon.",
    ),
    # --- my lots ---
    "portal.lots.holding": ("我持有的批次", "Lots I hold"),
    "portal.lots.none": ("目前没有持有的批次。", "You hold no lots now."),
    "portal.lots.held": ("持有 {quantity} {unit}", "{quantity} {unit} held"),
    "portal.lots.group": ("{n} 个批次，每个 {quantity} {unit}", "{n} lots of {quantity} {unit} each"),
    "portal.lots.chain": ("查看流转链", "See its chain"),
    "portal.lots.label": ("标签", "label"),
    "portal.lots.labels": ("打印标签", "Print labels"),
    "portal.lots.sheet": ("打印全部标签（PDF）", "Print all labels (PDF)"),
    "portal.lots.transform": ("分批/分装", "Split · repack"),
    "portal.lots.sent": ("我发出的货", "What I shipped"),
    "portal.lots.sent_to": ("{quantity} {unit} 发往 {party}", "{quantity} {unit} to {party}"),
    "portal.lots.incoming": (
        "有 {n} 批货物等待您收货。",
        "{n} shipment line(s) are waiting for you to receive them.",
    ),
    "portal.lots.go_receive": ("去收货", "Receive them"),
    # --- receive ---
    "portal.receive.none": ("目前没有发给您、等待收货的货物。", "Nothing is waiting for you to receive."),
    "portal.receive.from": ("来自 {party}", "From {party}"),
    "portal.receive.shipment": ("发货记录", "Shipment"),
    "portal.receive.outstanding": (
        "待收 {quantity} {unit}（共发 {shipped} {unit}）",
        "{quantity} {unit} to receive (of {shipped} {unit} sent)",
    ),
    "portal.receive.entry_check": ("入市查验", "Market-entry check"),
    "portal.receive.entry_hint": (
        "核对随货合格证或检测报告，与账本上的记录一致才接收。",
        "Compare the certificate or test report that came with the goods with the ledger's records before accepting.",
    ),
    "portal.receive.on_record": ("账本上该货物的合格证：", "Certificates on the ledger for these goods:"),
    "portal.receive.no_certificate": (
        "账本上没有该货物的合格证，请查验检测记录。",
        "The ledger holds no certificate for these goods: check a test record.",
    ),
    "portal.receive.view_certificate": ("查看", "view"),
    "portal.receive.no_inspection": ("— 不选 —", "— none —"),
    "portal.receive.accept": ("查验通过，接收", "Check passed: accept"),
    "portal.receive.reject": ("查验不通过，拒收", "Check failed: refuse"),
    # --- transform ---
    "portal.transform_type.split": ("分批", "Split"),
    "portal.transform_type.repack": ("分装", "Repack"),
    "portal.transform_type.merge": ("合并", "Merge"),
    "portal.transform_type.process": ("加工", "Process"),
    "portal.transform_hint.split": ("一个批次分成多个", "one lot into several"),
    "portal.transform_hint.repack": ("分装成小包装", "into smaller packs"),
    "portal.transform_hint.merge": ("多个批次合成一个", "several lots into one"),
    "portal.transform_hint.process": ("清洗、切配等加工", "washing, cutting and other processing"),
    "portal.transform.inputs": ("投入", "In"),
    "portal.transform.outputs": ("产出的新批次", "New lots out"),
    "portal.transform.product": ("新批次的产品", "Product of the new lots"),
    "portal.transform.helper": ("快速分成 N 份", "Quick split into N equal parts"),
    "portal.transform.n": ("份数", "Parts"),
    "portal.transform.q": ("每份", "Each"),
    "portal.transform.prefix": ("新批次号前缀", "Prefix of the new lot codes"),
    "portal.transform.fill": ("生成新批次", "Make the new lots"),
    "portal.transform.filled": ("已生成 {n} 个新批次，每个 {q} {unit}。", "{n} new lots of {q} {unit} each."),
    "portal.transform.n_range": ("份数为 1 到 1000。", "Between 1 and 1000 parts."),
    "portal.transform.prefix_bad": (
        "前缀最多 {max} 位字母、数字或 - . _ /。",
        "The prefix is at most {max} letters, digits or - . _ /.",
    ),
    "portal.transform.balance": ("产出 {out} / 投入 {in}（{unit}）", "Out {out} of {in} in ({unit})"),
    # --- labels ---
    "portal.labels.preview": ("批次 {lot} 的标签", "Label of lot {lot}"),
    "portal.labels.png": ("下载 PNG", "Download PNG"),
    "portal.labels.svg": ("下载 SVG", "Download SVG"),
    "portal.labels.sheet_title": ("批量打印（A4 PDF）", "Many at once (A4 PDF)"),
    "portal.labels.sheet_children": (
        "这个批次已分成 {n} 个新批次：一张表打印它们全部的标签。",
        "This lot was split into {n} new lots: the sheet prints all their labels.",
    ),
    "portal.labels.sheet_self": ("打印这个批次的多张标签。", "Prints several copies of this lot's label."),
    "portal.labels.copies": ("每个份数", "Copies of each"),
    "portal.labels.size": ("标签宽度", "Label width"),
    "portal.labels.pdf": ("生成 PDF", "Make the PDF"),
    "portal.labels.pdf_direct": ("直接打开 PDF", "Open the PDF"),
    # --- the certificate ---
    "portal.cert.official": ("承诺达标合格证", "承诺达标合格证"),
    "portal.cert.title": ("食用农产品承诺达标合格证", "Certificate of compliance (commitment)"),
    "portal.cert.print": ("打印", "Print"),
    "portal.cert.number": ("编号", "No."),
    "portal.cert.product": ("食用农产品名称", "Product"),
    "portal.cert.quantity": ("数量（重量）", "Quantity (weight)"),
    "portal.cert.producer": ("生产者", "Producer"),
    "portal.cert.contact": ("联系方式", "Contact"),
    "portal.cert.origin": ("产地", "Origin"),
    "portal.cert.date": ("开具日期", "Date issued"),
    "portal.cert.lot": ("批次号", "Lot"),
    "portal.cert.subject_code": ("主体码", "Subject code (national platform)"),
    "portal.cert.tracing_code": ("追溯码", "Tracing code (national platform)"),
    "portal.cert.promise": ("我承诺对生产销售的食用农产品：", "I commit, for the produce I sell:"),
    "portal.cert.basis": ("承诺依据：", "On the basis of:"),
    "portal.cert.checked": ("（已勾选）", "(ticked)"),
    "portal.cert.qr": ("溯源码：{uri}", "Trace code: {uri}"),
    "portal.cert.scan": ("扫码查看溯源信息", "Scan to trace"),
    "portal.cert.ledger": ("账本第 {index} 条记录", "Ledger entry {index}"),
    "portal.cert.blocked": (
        "注意：该批次已被召回或检测不合格，本合格证不再有效。",
        "Warning: this lot has been recalled or failed a test; this certificate no longer holds.",
    ),
    # label_activate's refusals (trace/rules/labels.py); the labels' other messages: web/i18n/labels.py
    "portal.rule.label_bound": (
        "其中有标签已经激活过，不能再绑定。请去掉它后重试。",
        "A label in the list is already activated and cannot be bound again. Remove it and try again.",
    ),
    "portal.rule.label_gtin": (
        "这些标签的 GTIN 与该批次产品的 GTIN 不同。",
        "These labels' GTIN is not the GTIN of the lot's product.",
    ),
    # livestock's refusals (trace/rules/livestock.py); its other messages: web/i18n/livestock.py
    "portal.rule.ear_tag": (
        "耳标号有误：有重复、已在账本上，或不是该批次现有的牲畜。请核对后重试。",
        "An ear tag is wrong: listed twice, already on record, or not one of the lot's animals. "
        "Check the numbers and try again.",
    ),
    "portal.rule.quarantine": (
        "没有有效的动物检疫合格证明（肉品还需肉品品质检验合格证），或证明与批次不符。",
        "No valid animal quarantine certificate (and, for meat, meat quality inspection certificate), "
        "or the certificate does not match the lot.",
    ),
    # --- errors of the pages themselves ---
    "portal.denied.title": ("无此权限", "Not available to you"),
    "portal.denied.text": ("这项记录需要以下经营类型：{roles}。", "This form needs the role {roles}."),
    "portal.missing.title": ("没有找到", "Not found"),
    "portal.missing.text": ("没有找到「{what}」。", "Nothing found for “{what}”."),
}

_missing = [rule for rule in RULES if f"portal.rule.{rule}" not in PORTAL_MESSAGES]
if _missing:  # every refusal the domain can make has its message (a new rule must add one)
    raise RuntimeError(f"portal messages lack rules {_missing}")
