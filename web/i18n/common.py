"""The messages every page family shares: page chrome, the consumer page, the home page, units, prices.

(Over 400 lines: a catalogue is data, one message a line or three; splitting it further would
scatter one page family's words.)

key: (Simplified Chinese, English). Placeholders are `{name}`, the same in both languages (tests/web
check this); a message is plain text, never markup, because templates escape everything they insert.
"""
# size: a catalogue is data, one message a line or three (see the docstring)

from __future__ import annotations

from farmtrace.trace.model.details import STANDARD_RECALL_INSTRUCTIONS

__all__ = ["COMMON_MESSAGES"]

# key: (Simplified Chinese, English)
COMMON_MESSAGES: dict[str, tuple[str, str]] = {
    # --- page chrome ---
    "site.name": ("农产品溯源", "Farm-to-table trace"),
    "lang.other": ("English", "中文"),
    "lang.other_label": ("Switch to English", "切换到中文"),
    "page.title": ("{product} · 批次 {lot}", "{product} · lot {lot}"),
    "page.skip": ("跳到内容", "Skip to content"),
    # --- the product ---
    "product.lot": ("批次号", "Lot"),
    "product.gtin": ("商品条码", "GTIN"),
    "product.quantity": ("数量", "Quantity"),
    "product.variety": ("品种", "Variety"),
    "product.category": ("类别", "Category"),
    # --- warnings at the top ---
    "recall.title": ("召回警告：请勿食用", "Recall: do not eat this product"),
    "recall.upstream": (
        "本产品的来源批次 {lot} 已于 {date} 被市场监管部门召回。",
        "A lot this product comes from ({lot}) was recalled by the market regulator on {date}.",
    ),
    "recall.self": (
        "本批次 {lot} 已于 {date} 被市场监管部门召回。",
        "This lot ({lot}) was recalled by the market regulator on {date}.",
    ),
    "recall.went_lots": ("由本批次制成的批次：{lots}", "Lots made from it: {lots}"),
    "recall.went_to": ("本批次发往：{parties}", "Shipped to: {parties}"),
    "recall.reason": ("原因", "Reason"),
    # Recorded in one language; shown in the reader's whichever of the two was recorded.
    "recall.standard_instructions": STANDARD_RECALL_INSTRUCTIONS,
    "recall.todo": ("怎么办", "What to do"),
    "recall.hotline": (
        "如有疑问，请拨打 12315 市场监管投诉举报热线。",
        "Questions? Call the market regulator's consumer hotline, 12315.",
    ),
    "status.failed": (
        "本产品的来源批次检测不合格，不得销售或食用。",
        "A lot this product comes from failed a safety test: it must not be sold or eaten.",
    ),
    "status.rejected": (
        "本产品曾在入市查验时被拒收。",
        "This product was refused at a market's entry check.",
    ),
    # --- verification ---
    "verify.title": ("真实性验证", "Authenticity check"),
    "verify.pending": ("正在本机验证…", "Verifying on your phone…"),
    "verify.pending_detail": (
        "正在核对每条记录的签名和账本证明。",
        "Checking every record's signature and ledger proof.",
    ),
    "verify.ok": ("已验证", "Verified"),
    "verify.ok_detail": (
        "您的手机已核对全部 {events} 条记录的数字签名、哈希链接和账本包含证明，与账本的签名检查点（第 {size} 条）一致。",
        "Your phone checked the digital signatures, hash links and ledger inclusion proofs of all {events} records against the ledger's signed checkpoint (size {size}).",
    ),
    "verify.failed": ("未通过验证", "Not verified"),
    "verify.failed_detail": (
        "以下检查未通过，本产品的记录可能被篡改。请勿只凭本页信息判断，可向商家咨询或拨打 12315。",
        "The checks below failed: this product's records may have been tampered with. Do not rely on this page alone; ask the shop or call 12315.",
    ),
    "verify.error": ("无法验证", "Could not verify"),
    "verify.error_network": (
        "无法获取验证数据，请检查网络后重试。",
        "Could not load the verification data. Check your connection and try again.",
    ),
    "verify.error_server": (
        "服务器未能提供验证数据（{status}）：{detail}",
        "The server could not provide the verification data ({status}): {detail}",
    ),
    "verify.error_crypto": (
        "此浏览器不支持验证所需的加密功能（Ed25519、SHA-256）。请更新浏览器，或通过 HTTPS 打开本页。",
        "This browser lacks the cryptography the check needs (Ed25519, SHA-256). Update the browser, or open this page over HTTPS.",
    ),
    "verify.damaged": (
        "该批次在账本中的记录无法读取，可能已损坏或被篡改，目前无法验证。",
        "This lot's ledger records cannot be read: they may be damaged or tampered with, so it cannot be verified.",
    ),
    "verify.retry": ("重试", "Try again"),
    "verify.noscript": (
        "需要开启 JavaScript 才能在本机验证这些记录。",
        "Turn on JavaScript to verify these records on your phone.",
    ),
    "verify.more": ("另有 {n} 项检查未通过。", "{n} more checks failed."),
    "verify.took": ("验证用时 {ms} 毫秒", "Checked in {ms} ms"),
    # Which Ed25519 engine checked the signatures (web/static/codec.js's ed25519Engine).
    "verify.engine.webcrypto": (
        "签名由浏览器内置的 WebCrypto 核对",
        "signatures checked by the browser's WebCrypto",
    ),
    "verify.engine.noble": (
        "签名由本站提供的 JavaScript 验证程序（noble-ed25519）核对",
        "signatures checked by this site's JavaScript verifier (noble-ed25519)",
    ),
    "verify.step_ok": ("已核对", "checked"),
    "verify.step_bad": ("未通过", "failed"),
    "verify.step_ref": ("第 {n} 步「{title}」", "step {n} ({title})"),
    "verify.entry_ref": ("账本第 {index} 条记录", "ledger entry {index}"),
    "verify.some_record": ("一条记录", "a record"),
    # One message per reason code of trace/verify_journey.py (REASONS) and web/static/verify.js.
    "verify.reason.journey.malformed": ("验证数据的格式不正确。", "The verification data is malformed."),
    "verify.reason.log_key.mismatch": (
        "服务器给出的账本公钥与本页内置的公钥不一致。",
        "The ledger key the server names is not the one built into this page.",
    ),
    "verify.reason.checkpoint.malformed": ("账本检查点无法解析。", "The ledger's checkpoint does not parse."),
    "verify.reason.checkpoint.signature": (
        "账本检查点的签名无效：它不是由本页内置的账本公钥签署的。",
        "The ledger's checkpoint is not validly signed by the ledger key built into this page.",
    ),
    # Current and witnessed (ledger/policy.py, web/static/witnessed.js): the page's witness policy.
    "verify.reason.checkpoint.cosignature": (
        "见证方 {key} 的副签无效。",
        "The cosignature of witness {key} is invalid.",
    ),
    "verify.reason.checkpoint.unwitnessed": (
        "检查点没有独立见证方的有效副签。",
        "No independent witness validly cosigned the checkpoint.",
    ),
    "verify.reason.checkpoint.quorum": (
        "副签的独立见证方少于规定人数。",
        "Too few independent witnesses cosigned the checkpoint.",
    ),
    "verify.reason.checkpoint.stale": (
        "检查点最近一次见证已超过期限。",
        "The checkpoint was last witnessed too long ago.",
    ),
    "verify.unwitnessed": ("签名已核对，未经见证", "Signatures checked, not witnessed"),
    "verify.stale": ("签名已核对，记录可能过时", "Signatures checked, possibly out of date"),
    "verify.unwitnessed_detail": (
        "签名和证明均已核对，但独立见证方不足，无法确认您看到的账本与他人相同。",
        "Signatures and proofs check out, but too few independent witnesses cosigned: nothing confirms you see the same ledger as others.",
    ),
    "verify.stale_detail": (
        "签名和证明均已核对，但账本最近一次见证是 {when}，已超过 {hours} 小时：之后的记录（如召回）可能未显示。",
        "Signatures and proofs check out, but the ledger was last witnessed at {when}, over {hours} hours ago: later records (a recall) may be missing.",
    ),
    "verify.witnessed_at": (
        "最近见证：{when}（{n} 个独立见证方）",
        "Last witnessed {when} by {n} independent witnesses",
    ),
    "verify.no_witnesses": ("未配置独立见证方。", "No independent witnesses configured."),
    "verify.proof": ("离线证明", "Offline proof"),  # each step's .tlog-proof link (docs/tlog-proof.md)
    "verify.reason.key.id": (
        "签名密钥 {key} 的公钥与其编号不符。",
        "Signing key {key}: the public key does not match its id.",
    ),
    "verify.reason.key.not_registered": (
        "签名密钥 {key} 没有在账本上登记的记录。",
        "Signing key {key} has no registration on the ledger.",
    ),
    "verify.reason.key.registration": (
        "签名密钥 {key} 的登记记录与该密钥或其所属单位不符。",
        "Signing key {key}: its registration does not record this key for this party.",
    ),
    "verify.reason.key.registration_proof": (
        "签名密钥 {key} 的登记记录不在已签名的账本中。",
        "Signing key {key}: its registration is not proven in the signed ledger.",
    ),
    "verify.reason.entry.malformed": ("{step}的记录已损坏，无法解析。", "The record of {step} is damaged."),
    "verify.reason.key.unknown": (
        "{step}由未知的密钥 {key} 签署。",
        "{step} is signed by an unknown key, {key}.",
    ),
    "verify.reason.key.party": (
        "{step}的签名密钥不属于记录它的单位。",
        "{step} is signed with a key that does not belong to the party that recorded it.",
    ),
    "verify.reason.key.order": (
        "{step}在其签名密钥登记之前就已签署。",
        "{step} was signed before its key was registered.",
    ),
    "verify.reason.signature.invalid": (
        "{step}的记录与签名不符：记录在签署之后被改动过。",
        "The record of {step} does not match its signature: it was changed after it was signed.",
    ),
    "verify.reason.inclusion.leaf": (
        "{step}的记录与它在账本中的哈希值不符。",
        "The record of {step} does not match its hash in the ledger.",
    ),
    "verify.reason.inclusion.invalid": (
        "{step}的记录不在已签名的账本中（包含证明不成立）：账本中的记录被改动或替换过。",
        "The record of {step} is not in the signed ledger (its inclusion proof fails): the stored record was changed or replaced.",
    ),
    "verify.reason.chain.order": (
        "{step}的顺序与账本不符。",
        "{step} is out of ledger order.",
    ),
    "verify.reason.chain.created_twice": (
        "批次 {lot} 被重复创建（{step}）。",
        "Lot {lot} is created a second time ({step}).",
    ),
    "verify.reason.chain.no_creation": (
        "缺少创建批次 {lot} 的记录。",
        "The record that created lot {lot} is missing.",
    ),
    "verify.reason.chain.unrelated": (
        "{step}与本产品的来历无关。",
        "{step} is not part of this product's history.",
    ),
    "verify.reason.chain.follows": (
        "{step}没有接上批次 {lot} 的上一条记录：中间的记录缺失或被改动过。",
        "{step} does not link to the previous record of lot {lot}: a record in between is missing or was changed.",
    ),
    # Step 6, completeness by the head index (trace/journey_index_check.py, static/completeness.js).
    "verify.reason.index.missing": (
        "缺少账本索引的证明，无法确认记录是否完整（{lot}{key}）。",
        "The ledger index's proof is missing, so the records cannot be shown to be complete ({lot}{key}).",
    ),
    "verify.reason.index.entry": (
        "账本索引条目（{step}）格式不正确。",
        "The ledger index entry ({step}) is malformed.",
    ),
    "verify.reason.index.inclusion": (
        "账本索引条目（{step}）不在已签名的账本中。",
        "The ledger index entry ({step}) is not in the signed ledger.",
    ),
    "verify.reason.index.stale": (
        "账本索引（{step}）已过时，可能有更新的索引。",
        "The ledger index ({step}) is out of date: a newer one may exist.",
    ),
    "verify.reason.index.proof": (
        "账本索引对 {lot}{key} 的证明不成立。",
        "The ledger index's proof for {lot}{key} does not hold.",
    ),
    "verify.reason.chain.hidden_tail": (
        "批次 {lot} 的记录不完整：账本中有未在此显示的记录（例如召回或不合格的检测）。",
        "The records of lot {lot} are incomplete: the ledger holds records not shown here (a recall or a failed test, for example).",
    ),
    "verify.reason.key.revoked": (
        "{step}由已被吊销的密钥 {key} 签署（在吊销记录之后）。",
        "{step} is signed by key {key} after that key was revoked.",
    ),
    "verify.incomplete": ("记录已核对，完整性未证明", "Records checked, completeness not proven"),
    "verify.incomplete_detail": (
        "这 {events} 条记录的签名都已在您的设备上核对，但服务器没有提供账本索引，无法证明没有遗漏的记录（例如召回）。",
        "The signatures of these {events} records were checked on your device, but the server gave no ledger index, so it cannot be shown that no record (a recall, say) was left out.",
    ),
    "verify.incomplete_stale_detail": (
        "这 {events} 条记录的签名已在您的设备上核对，但账本索引已过时，无法证明没有遗漏的记录（例如召回）。",
        "The signatures of these {events} records were checked on your device, but the ledger index is out of date, so it cannot be shown that no record (a recall, say) was left out.",
    ),
    "verify.index_stale": (
        "完整性未证明：账本索引已过时。",
        "Completeness not proven: the ledger index is out of date.",
    ),
    "verify.index_complete": (
        "完整：截至账本第 {size} 条记录，此产品的所有记录均已列出。",
        "Complete: every record of this product up to ledger entry {size} is shown.",
    ),
    "verify.index_pending": (
        "截至账本第 {size} 条记录完整；最新的 {n} 条记录已入账，尚未编入索引。",
        "Complete up to ledger entry {size}; the latest {n} records are recorded but not yet indexed.",
    ),
    "verify.index_missing": (
        "完整性未证明：没有账本索引。",
        "Completeness not proven: there is no ledger index.",
    ),
    "verify.index_failed": ("完整性未证明。", "Completeness not proven."),
    "verify.index_unproven": (
        "完整性未证明：账本索引未通过核对。",
        "Completeness not proven: the ledger index did not check out.",
    ),
    "verify.reason.unknown": ("一项检查未通过（{reason}）。", "A check failed ({reason})."),
    # --- origin and prices ---
    "origin.title": ("产地", "Origin"),
    "origin.producer": ("生产者", "Producer"),
    "origin.field": ("地块", "Field"),
    "origin.address": ("地址", "Address"),
    "origin.harvested": ("采收日期", "Harvested"),
    "prices.title": ("各环节价格", "Prices along the way"),
    "prices.none": ("暂无价格记录。", "No prices were recorded."),
    "price.production": ("产地价", "Farm-gate"),
    "price.wholesale": ("批发价", "Wholesale"),
    "price.retail": ("零售价", "Retail"),
    "price.amount": ("{amount} 元/{unit}", "¥{amount} per {unit}"),
    "price.as_recorded": ("（记录为 {amount} 元/{unit}）", "(recorded as ¥{amount} per {unit})"),
    "unit.kg": ("kg", "kg"),
    "unit.g": ("克", "g"),
    "unit.t": ("吨", "t"),
    "unit.jin": ("斤", "jin"),
    "unit.piece": ("个", "piece"),
    "unit.box": ("箱", "box"),
    "unit.bag": ("袋", "bag"),
    # --- the journey ---
    "journey.title": ("流转记录", "Journey"),
    "journey.empty": ("暂无记录。", "No records yet."),
    "journey.by": ("记录方：{party}", "Recorded by {party}"),
    "journey.another_buyer": ("其他买方", "another buyer"),
    "journey.another_seller": ("其他卖方", "another seller"),
    "journey.at": ("地点：{place}", "at {place}"),
    "journey.lot": ("批次 {lot}", "lot {lot}"),
    "stage.production": ("产地", "Farm"),
    "stage.inspection": ("检测", "Inspection"),
    "stage.certificate": ("合格证", "Certificate"),
    "stage.wholesale": ("批发", "Wholesale"),
    "stage.retail": ("零售", "Retail"),
    "stage.processing": ("加工", "Processing"),
    "stage.regulator": ("监管", "Regulator"),
    "kind.harvest": ("采收", "Harvest"),
    "kind.inspect": ("检测", "Inspection"),
    "kind.certify": ("开具合格证", "Certificate issued"),
    "kind.ship": ("发货", "Shipped"),
    "kind.receive": ("收货", "Received"),
    "kind.transform": ("加工", "Processed"),
    "kind.transform.split": ("分批", "Split"),
    "kind.transform.merge": ("合并", "Merged"),
    "kind.transform.repack": ("分装", "Repacked"),
    "kind.transform.process": ("加工", "Processed"),
    "kind.sell": ("销售", "Sold"),
    "kind.recall": ("召回", "Recall"),
    "kind.destroy": ("销毁", "Destroyed"),
    "kind.recall_ack": ("召回确认", "Recall acknowledged"),
    "kind.other": ("记录", "Record"),
    "detail.quantity": ("{quantity} {unit}", "{quantity} {unit}"),
    "detail.harvest": ("采收 {quantity} {unit}", "{quantity} {unit} harvested"),
    "detail.field": ("地块：{field}", "Field: {field}"),
    "detail.analyte": ("检测项目：{analyte}", "Test: {analyte}"),
    "detail.method": ("方法：{method}", "Method: {method}"),
    "detail.value": ("结果 {value}，限值 {limit}（{unit}）", "Result {value}, limit {limit} ({unit})"),
    "detail.pass": ("合格", "Pass"),
    "detail.fail": ("不合格", "Fail"),
    "detail.report": ("检测报告编号：{report}", "Test report no. {report}"),
    "detail.certificate": ("合格证编号：{number}", "Certificate no. {number}"),
    "detail.commitments": ("承诺：", "Commitments:"),
    "commit.no_banned_substances": (
        "不使用禁用农药兽药、停用兽药和非法添加物",
        "No banned pesticides or veterinary drugs, no illegal additives",
    ),
    "commit.withdrawal_period_observed": (
        "遵守农药安全间隔期、兽药休药期规定",
        "Pre-harvest and withdrawal intervals observed",
    ),
    "commit.residues_within_limits": (
        "销售的食用农产品符合农药兽药残留食品安全国家强制性标准",
        "Residues within the national food-safety limits",
    ),
    "commit.self_tested": ("自检合格", "Self-tested: pass"),
    "commit.entrusted_tested": ("委托检测合格", "Tested by a laboratory: pass"),
    "commit.internal_quality_control": ("内部质量控制合格", "Internal quality control: pass"),
    "detail.ship": ("发往{party}，{quantity} {unit}", "{quantity} {unit} to {party}"),
    "detail.receive": ("从{party}收货 {quantity} {unit}", "{quantity} {unit} received from {party}"),
    # A transfer off the path to the page's lot: shown, without its counterparty (web/journey_path.py).
    "detail.ship_unnamed": ("发往其他买方，{quantity} {unit}", "{quantity} {unit} to another buyer"),
    "detail.receive_unnamed": ("其他买方收货 {quantity} {unit}", "{quantity} {unit} received by another buyer"),
    "detail.entry_accepted": ("入市查验：通过", "Market entry check: accepted"),
    "detail.entry_rejected": ("入市查验：拒收", "Market entry check: refused"),
    "detail.entry_certificate": ("查验合格证 {number}", "certificate {number} checked"),
    # A receive whose entry check records a paper certificate (certificate_source "paper").
    "detail.entry_certificate_paper": (
        "纸质合格证 {number} 已查验，未在账本上",
        "certificate {number} checked on paper, not on the ledger",
    ),
    "detail.temperature": ("温度 {value} °C", "Temperature {value} °C"),
    "detail.split": (
        "分成 {n} 批，本品来自其中的 {lot}（{quantity} {unit}）",
        "Split into {n} lots; this product comes from {lot} ({quantity} {unit})",
    ),
    "detail.repack": (
        "分装为 {n} 份，本品是其中的 {lot}（{quantity} {unit}）",
        "Repacked into {n} packs; this product is {lot} ({quantity} {unit})",
    ),
    "detail.split_here": ("分成 {n} 批：{lots}", "Split into {n} lots: {lots}"),
    "detail.repack_here": ("分装为 {n} 份：{lots}", "Repacked into {n} packs: {lots}"),
    "list.sep": ("、", ", "),
    "list.more": ("{items} 等共 {n} 个", "{items} and more ({n} in all)"),
    # The consumer page's facts (web/static/facts-view.js): the server's first paint is not a fact.
    "facts.unverified": (
        "未验证：服务器提供的内容，本机尚未核对",
        "Not yet verified: the server's account, not yet checked here",
    ),
    "facts.partial": (
        "以下只显示本机能够证明的内容；未通过验证的记录已标出，不作为事实。",
        "Only what this phone could prove is shown below; records that failed a check are marked and are not facts.",
    ),
    "facts.step_proven": ("已证明", "proven"),
    # farmtrace verify-lot (api/cli/facts.py): the facts it proved, after its checks.
    "facts.cli.verified": (
        "已证明的事实（{n} 条记录，全部通过验证）：",
        "Proven facts ({n} records, all checks passed):",
    ),
    "facts.cli.partial": (
        "已证明的事实（仅 {n} 条记录能够证明；验证未通过）：",
        "Proven facts (only {n} records could be proven; the journey is NOT verified):",
    ),
    "facts.cli.hands": ("经手方", "Hands"),
    "facts.cli.unproven": (
        "未能证明，不作为事实：账本第 {indexes} 条记录",
        "Not proven, not facts: ledger entries {indexes}",
    ),
    "detail.merge": ("{n} 个批次合并为 {lot}", "{n} lots merged into {lot}"),
    "detail.process": ("加工为 {lot}（{quantity} {unit}）", "Processed into {lot} ({quantity} {unit})"),
    "detail.sell": ("售出 {quantity} {unit}", "{quantity} {unit} sold"),
    "detail.reason": ("原因：{reason}", "Reason: {reason}"),
    "detail.price": ("{stage}：{price}", "{stage}: {price}"),
    # --- not found ---
    "notfound.title": ("未找到该产品", "Product not found"),
    "notfound.unknown": (
        "账本中没有批次号为「{code}」的产品。",
        "The ledger has no product with lot code “{code}”.",
    ),
    "notfound.malformed": (
        "这不是有效的批次号或溯源链接。",
        "This is not a valid lot code or trace link.",
    ),
    "notfound.gtin": (
        "商品条码 {gtin} 与批次 {code} 不符。",
        "GTIN {gtin} does not match lot {code}.",
    ),
    "notfound.hint_label": (
        "请核对标签上的批次号（区分大小写）。",
        "Check the lot code on the label (it is case-sensitive).",
    ),
    "notfound.hint_scan": (
        "如果是扫码打开的，请确认扫的是包装上的溯源码。",
        "If you scanned a code, make sure it is the trace code on the package.",
    ),
    "notfound.hint_help": (
        "仍有疑问，请咨询商家或拨打 12315。",
        "Still unsure? Ask the shop, or call 12315.",
    ),
    "notfound.form_label": ("输入标签上的批次号", "Type the lot code from the label"),
    "notfound.form_submit": ("查询", "Look up"),
    # --- the GS1 Digital Link resolver (web/resolver.py) ---
    "resolver.bad_title": ("商品条码无效", "Not a valid product barcode"),
    "resolver.gtin_digits": (
        "商品条码「{gtin}」只能由数字组成。",
        "GTIN “{gtin}” must be digits only.",
    ),
    "resolver.gtin_length": (
        "商品条码「{gtin}」应为 8、12、13 或 14 位数字，这里是 {n} 位。",
        "GTIN “{gtin}” must have 8, 12, 13 or 14 digits; it has {n}.",
    ),
    "resolver.gtin_check": (
        "商品条码「{gtin}」的校验位应为 {want}，这里是 {found}。",
        "The check digit of GTIN “{gtin}” should be {want}, not {found}.",
    ),
    "resolver.lot_syntax": (
        "批次号「{lot}」不是有效的 GS1 批号（1 到 20 个 GS1 允许的字符）。",
        "“{lot}” is not a GS1 batch/lot number (1 to 20 characters of the GS1 character set).",
    ),
    "resolver.path": (
        "这不是有效的 GS1 数字链接：商品条码后应跟 /10/ 和批次号。",
        "This is not a valid GS1 Digital Link: the GTIN must be followed by /10/ and a lot code.",
    ),
    "resolver.hint_digits": (
        "请核对条码下方的数字是否输入完整。",
        "Check that the digits under the barcode were typed in full.",
    ),
    "resolver.no_link_title": ("没有这类信息", "No such information"),
    "resolver.no_link": (
        "批次 {lot} 没有「{link_type}」类型的链接。",
        "Lot {lot} has no link of type “{link_type}”.",
    ),
    "resolver.link_page": ("产品追溯页", "Product trace page"),
    "resolver.link_epcis": ("本批次的 EPCIS 2.0 事件", "This lot's EPCIS 2.0 events"),
    "resolver.link_journey": ("可验证的流转记录", "The verifiable journey"),
    "resolver.link_certificate": ("承诺达标合格证 {number}", "Compliance certificate {number}"),
    "resolver.link_recall": ("召回状态", "Recall status"),
    # --- footer ---
    "footer.how_title": ("如何验证", "How this is checked"),
    "footer.how": (
        "本页在您的手机上用密码学方法核对每一条记录：记录方的数字签名（Ed25519），记录之间的哈希链接，以及每条记录都包含在账本已签名的检查点中（RFC 9162 包含证明）。账本公钥内置于本页，不依赖服务器的说法。",
        "This page checks every record on your phone with cryptography: the recording party's digital signature (Ed25519), the hash links between records, and that each record is in the ledger's signed checkpoint (RFC 9162 inclusion proof). The ledger's key is built into this page; nothing rests on the server's word.",
    ),
    "footer.key": ("本页内置的账本公钥：{key}", "Ledger key built into this page: {key}"),
    "footer.data": ("原始数据（JSON）", "Raw data (JSON)"),
    # --- the public home page (web/home.py) ---
    "home.title": ("农产品质量安全追溯平台", "Farm-to-table traceability platform"),
    "home.lead": (
        "从农田到餐桌，每一步都有据可查：农场、检测站、批发市场和商店用各自的密钥签署每一次采收、检测、合格证、运输和销售，记录写入只增不改的公开账本；消费者扫码后由自己的手机核验，监管部门可以审计整本账本、追溯任何批次并一键召回。",
        "From field to table, every step is on the record: farms, test rooms, wholesale markets and shops sign each harvest, test, certificate, shipment and sale with their own keys; the records go into a public, append-only ledger; a shopper's phone checks them after a scan, and regulators audit the whole ledger, trace any lot and recall it in one step.",
    ),
    "home.search.title": ("查询产品来历", "Find a product"),
    "home.search.label": ("输入包装标签上的批次号", "Type the lot code from the package label"),
    "home.search.hint": (
        "批次号印在溯源码下方，例如 XF-BAG-0001（区分大小写）。也可以直接用手机扫描溯源码。",
        "The lot code is printed under the trace code, e.g. XF-BAG-0001 (it is case-sensitive). You can also scan the code with your phone.",
    ),
    "home.search.submit": ("查询", "Look up"),
    "home.search.empty": ("请输入批次号。", "Please type a lot code."),
    "home.search.too_long": (
        "批次号最多 20 个字符，您输入了 {n} 个。",
        "A lot code has at most 20 characters; this one has {n}.",
    ),
    "home.search.bad_chars": (
        "批次号只能包含英文字母、数字和 - . _ /，不能包含：{chars}",
        "A lot code may contain only letters A–Z and a–z, digits and - . _ /; not: {chars}",
    ),
    "home.search.space": ("空格", "spaces"),
    "home.search.bad_title": ("批次号格式不正确", "That is not a lot code"),
    "home.search.notfound_title": ("没有找到这个批次", "No such lot"),
    "home.search.notfound": (
        "账本中没有批次号为「{code}」的产品。",
        "The ledger has no product with lot code “{code}”.",
    ),
    "home.search.back": ("返回首页", "Back to the home page"),
    "home.how.title": ("它是怎么做到可信的", "Why you can trust it"),
    "home.how.sign_title": ("各方签名", "Signed by each party"),
    "home.how.sign": (
        "每条记录都由记录方用自己的 Ed25519 密钥签名，服务器从不持有任何一方的私钥。",
        "Each record is signed with the recording party's own Ed25519 key; the server never holds anyone's private key.",
    ),
    "home.how.ledger_title": ("公开账本", "A public ledger"),
    "home.how.ledger": (
        "记录按顺序写入防篡改的默克尔树账本（RFC 9162），账本定期签署检查点，任何改动都会被发现。",
        "Records go, in order, into a tamper-evident Merkle-tree ledger (RFC 9162) that signs checkpoints: any change is detected.",
    ),
    "home.how.phone_title": ("手机核验", "Checked by your phone"),
    "home.how.phone": (
        "扫码打开的页面在您的手机上核对签名、哈希链接和包含证明，不依赖服务器的说法。",
        "The page a scan opens checks the signatures, hash links and inclusion proofs on your phone, without taking the server's word.",
    ),
    "home.how.audit_title": ("监管审计", "Audited by regulators"),
    "home.how.audit": (
        "市场监管部门可以审计整本账本，顺着批次向前追到农田、向后追到每家商店，并发布召回。",
        "The market regulator audits the whole ledger, traces a lot back to its farms and forward to every shop, and recalls.",
    ),
    "home.recalls.title": ("近期召回", "Recent recalls"),
    "home.recalls.none": ("近 {days} 天没有召回。", "No recalls in the last {days} days."),
    "home.recalls.lot": ("批次 {lot}", "Lot {lot}"),
    "home.recalls.when": ("{date} 由{regulator}召回", "Recalled on {date} by {regulator}"),
    "home.recalls.unreadable": (
        "这条召回记录在账本中无法读取，请以监管部门公告为准。",
        "This recall's ledger record cannot be read; see the regulator's notice.",
    ),
    "home.recalls.open": ("查看批次来历", "See the lot's journey"),
    "home.prices.title": ("公开价格", "Public prices"),
    "home.prices.explain": (
        "各环节最近一天记录的平均价格，来自近 {days} 天账本中已签名的销售和交易记录。",
        "The mean price recorded on the latest day at each stage, from the signed sales and trades on the ledger over the last {days} days.",
    ),
    "home.prices.none": ("近 {days} 天没有价格记录。", "No prices were recorded in the last {days} days."),
    "home.prices.no_price": ("无记录", "none recorded"),
    "home.prices.latest": ("最近记录日", "Latest day"),
    "home.prices.chart_title": ("{product}：各环节价格走势", "{product}: prices by stage"),
    "home.prices.x_axis": ("日期", "Date"),
    "home.prices.y_axis": ("元/{unit}", "CNY per {unit}"),
    "home.ledger.title": ("账本", "The ledger"),
    "home.ledger.size": (
        "账本目前共有 {size} 条记录，最新检查点由账本密钥签署。",
        "The ledger now holds {size} entries; its latest checkpoint is signed by the ledger's key.",
    ),
    "home.ledger.empty": ("账本还没有记录。", "The ledger has no entries yet."),
    "home.ledger.checkpoint": ("最新签名检查点", "Latest signed checkpoint"),
    "home.ledger.key": ("账本公钥", "Ledger key"),
    "home.links.title": ("入口", "Where to go"),
    "home.links.portal": ("生产经营者入口", "Portal for farms, test rooms, markets and shops"),
    "home.links.portal_note": (
        "登记、采收、检测、开具合格证、发货收货和销售",
        "Enrol, record harvests and tests, issue certificates, ship, receive and sell",
    ),
    "home.links.console": ("监管控制台", "Regulators' console"),
    "home.links.console_note": (
        "账本审计、批次追溯、召回、异常和价格监测",
        "Ledger audits, lot tracing, recalls, anomalies and prices",
    ),
    "home.links.docs": ("接口文档", "API documentation"),
    "home.links.docs_note": (
        "账本和追溯数据的公开 HTTP 接口（OpenAPI）",
        "The public HTTP interface to the ledger and the trace data (OpenAPI)",
    ),
}
