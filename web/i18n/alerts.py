"""Messages of the alerts (the console's alerts and thresholds pages, "alerts.*"), the public price
page ("market.*") and the consumer page's cold-chain readings ("facts.cold.*", drawn by static/facts-view.js
from words-zh.js / words-en.js): key -> (zh, en)."""

from __future__ import annotations

__all__ = ["ALERT_MESSAGES"]

ALERT_MESSAGES: dict[str, tuple[str, str]] = {
    # --- the console's nav --------------------------------------------------------------------------
    "console.nav.alerts": ("预警", "Alerts"),
    "console.nav.thresholds": ("冷链阈值", "Cold-chain thresholds"),
    # --- the alerts page ----------------------------------------------------------------------------
    "alerts.title": ("预警：已接收但可疑的记录", "Alerts: accepted records that look wrong"),
    "alerts.filter.signal": ("预警类型", "Signal"),
    "alerts.signal.price": ("价格异常", "Price"),
    "alerts.signal.temperature": ("温度超限", "Temperature"),
    "alerts.signal.humidity": ("湿度超限", "Humidity"),
    "alerts.unit.temperature": ("°C", "°C"),
    "alerts.unit.humidity": ("%RH", "%RH"),
    "alerts.found": ("{n} 条预警", "{n} alerts"),
    "alerts.explain": (
        "预警只是信号，不拒收：记录已被接收并写入账本。与被拒绝的提交（异常）分开列出。最多显示最新 {limit} 条。",
        "Alerts are signals, not refusals: these records were accepted and are in the ledger. Refused "
        "submissions are listed apart (anomalies). The newest {limit} are shown.",
    ),
    "alerts.watch": (
        "价格基线：同一产品同一环节此前 {days} 天的价格（至少 {n} 笔）的中位数与 MAD；稳健得分超过 {threshold} 即预警"
        "（尺度不小于中位数的 {floor}%）。",
        "Price baseline: the median and MAD of the same product's prices at the same stage over the "
        "{days} days before (at least {n} prices); a robust score above {threshold} is an alert (the "
        "scale is at least {floor}% of the median).",
    ),
    "alerts.col.when": ("时间", "When"),
    "alerts.col.signal": ("类型", "Signal"),
    "alerts.col.what": ("产品 / 批次 / 主体 / 事件", "Product / lot / party / event"),
    "alerts.col.value": ("数值", "Value"),
    "alerts.col.evidence": ("依据", "Evidence"),
    "alerts.event": ("事件 {id}…", "Event {id}…"),
    "alerts.none": ("所选范围内没有预警。", "No alerts in the chosen range."),
    "alerts.price.amount": ("{stage}价 {amount} {unit}。", "{stage} price {amount} {unit}."),
    "alerts.price.baseline": (
        "基线：{since} 至 {until} 共 {n} 笔，中位数 {median} {unit}，MAD {mad}。",
        "Baseline: {n} prices from {since} to {until}, median {median} {unit}, MAD {mad}.",
    ),
    "alerts.price.score": (
        "得分 {score}（尺度 {scale}），阈值 {threshold}。",
        "Score {score} (scale {scale}), threshold {threshold}.",
    ),
    "alerts.cold.reading": ("最差读数 {value} {unit}，{time}。", "Worst reading {value} {unit} at {time}."),
    "alerts.cold.spell": (
        "{n} 个读数超限，{first} 至 {last}，持续 {minutes} 分钟。",
        "{n} readings out of range from {first} to {last}, for {minutes} min.",
    ),
    "alerts.cold.rule": (
        "规则 #{id}（{category}）：{low} 至 {high}，持续 ≥ {minutes} 分钟计；由 {set_by} 于 {set_at} 设定。",
        "Rule #{id} ({category}): {low} to {high}, counted from {minutes} min; set by {set_by} at {set_at}.",
    ),
    "alerts.cold.rule_default": (
        "规则 #{id}（{category}）：{low} 至 {high}，持续 ≥ {minutes} 分钟计；平台默认值。",
        "Rule #{id} ({category}): {low} to {high}, counted from {minutes} min; the platform's default.",
    ),
    "alerts.thresholds.default": ("平台默认值", "the platform's default"),
    "alerts.rule.open": ("不限", "no bound"),
    "alerts.rule.range": ("{low} 至 {high}", "{low} to {high}"),
    "alerts.rule.minutes": ("，持续 ≥ {minutes} 分钟", ", for {minutes} min or more"),
    # --- the thresholds page ------------------------------------------------------------------------
    "alerts.thresholds.title": ("冷链温湿度阈值", "Cold-chain temperature and humidity thresholds"),
    "alerts.thresholds.link": ("查看与修改冷链阈值", "See and change the cold-chain thresholds"),
    "alerts.thresholds.current": ("现行阈值", "Thresholds in force"),
    "alerts.thresholds.explain": (
        "按产品类别（与产品记录中的类别一致）设定温度、湿度范围；任何事件的读数超出范围并达到持续时间即预警。"
        "事件按其发生时现行的阈值判断。",
        "Ranges of temperature and humidity per product category (as products record it); any event's "
        "readings outside the range for the duration raise an alert. Each event is judged by the "
        "threshold in force at its time.",
    ),
    "alerts.thresholds.category": ("产品类别", "Category"),
    "alerts.thresholds.measure": ("指标", "Measure"),
    "alerts.thresholds.range": ("范围", "Range"),
    "alerts.thresholds.set": ("版本 · 设定人 · 时间", "Version · set by · at"),
    "alerts.thresholds.new": ("设定新阈值", "Set a threshold"),
    "alerts.thresholds.low": ("下限（可空）", "Low (may be empty)"),
    "alerts.thresholds.high": ("上限（可空）", "High (may be empty)"),
    "alerts.thresholds.minutes": ("持续分钟（0：任一读数）", "Minutes (0: any reading)"),
    "alerts.thresholds.save": ("保存", "Save"),
    "alerts.thresholds.who": (
        "保存后作为新版本记录，附您的主体编号与时间；旧版本保留。",
        "Kept as a new version with your party id and the time; earlier versions stay.",
    ),
    "alerts.thresholds.saved": ("已保存新阈值。", "The new threshold is saved."),
    "alerts.thresholds.history": ("全部版本", "Every version"),
    "alerts.thresholds.by": ("设定人", "Set by"),
    "alerts.thresholds.at": ("时间", "At"),
    "alerts.js.working": ("正在保存…", "Saving…"),
    "alerts.js.no_key": (
        "此浏览器中没有监管密钥，请先登录。",
        "No regulator key in this browser: sign in first.",
    ),
    "alerts.js.refused": ("未保存：{detail}", "Not saved: {detail}"),
    # --- the public price page ----------------------------------------------------------------------
    "market.title": ("农产品价格", "Farm produce prices"),
    "market.link": ("按日查看各产品价格与差价", "Prices and spreads by day, for every product"),
    "market.lead": (
        "按日查看产地、批发、零售三个环节的价格及各环节之间的差价，数据来自各主体签名的交易记录。",
        "Prices by day at the farm gate, wholesale and retail, and the spread between the stages, "
        "from the signed records of each sale.",
    ),
    "market.pick": ("选择产品", "Pick a product"),
    "market.product": ("产品", "Product"),
    "market.days_label": ("时间范围", "Period"),
    "market.days": ("近 {n} 天", "Last {n} days"),
    "market.show": ("查看", "Show"),
    "market.none": ("尚无价格记录。", "No prices recorded yet."),
    "market.latest": ("{product}：{day}", "{product}: {day}"),
    "market.gap": ("{low}→{high}", "{low} → {high}"),
    "market.chart_title": ("{product}近 {days} 天各环节价格", "{product}: prices by stage, last {days} days"),
    "market.explain": (
        "每条线为当日均价，竖线为当日最低至最高；按斤等记录的价格已换算为每公斤。",
        "Each line is the day's mean; whiskers span the day's low to high. Prices per jin and other "
        "mass units are converted to per kg.",
    ),
    "market.table": ("每日均价（{unit}）", "Daily means ({unit})"),
    "market.day": ("日期", "Day"),
    "market.spread": ("产地→零售差价", "Farm → retail"),
    "market.no_data": ("近 {days} 天没有价格记录。", "No prices in the last {days} days."),
    "market.home": ("返回首页", "Back to the home page"),
    "market.bad_days": (
        "时间范围（days）应为 {low} 至 {high} 的整数天，收到的是 “{value}”。",
        "days must be a whole number of days from {low} to {high}, found “{value}”.",
    ),
    "market.unknown": ("没有 “{product}” 的价格记录。", "No prices are recorded for “{product}”."),
    # --- the consumer page's cold chain (facts-view.js) -----------------------------------------------
    "facts.cold.title": ("冷链温湿度记录", "Cold-chain readings"),
    "facts.cold.measure.temperature": ("温度", "Temperature"),
    "facts.cold.measure.humidity": ("湿度", "Humidity"),
    "facts.cold.unit.temperature": ("°C", "°C"),
    "facts.cold.unit.humidity": ("%RH", "%RH"),
    "facts.cold.in": ("✓ 在范围内", "✓ in range"),
    "facts.cold.out": ("✗ 超出范围", "✗ out of range"),
    "facts.cold.no_rule": ("未设阈值", "no threshold"),
    "facts.cold.open": ("不限", "no bound"),
    "facts.cold.all_in": ("全部 {n} 个读数都在阈值范围内。", "All {n} readings stayed within the threshold."),
    "facts.cold.some_out": (
        "{total} 个读数中有 {n} 个超出阈值。",
        "{n} of {total} readings were outside the threshold.",
    ),
    "facts.cold.none_judged": (
        "产品类别“{category}”没有设定冷链阈值，读数仅供参考。",
        "No cold-chain threshold is set for the category “{category}”: the readings are shown as recorded.",
    ),
    "facts.cold.applied": ("所用阈值：", "Thresholds applied:"),
    "facts.cold.rule": (
        "{category}·{measure}：{low} 至 {high}（阈值 #{id}，{set_by} 于 {set_at} 设定）",
        "{category}, {measure}: {low} to {high} (threshold #{id}, set by {set_by} on {set_at})",
    ),
    "facts.cold.rule_default": (
        "{category}·{measure}：{low} 至 {high}（阈值 #{id}，平台默认值）",
        "{category}, {measure}: {low} to {high} (threshold #{id}, the platform's default)",
    ),
    "facts.cold.config": (
        "读数来自已验证的签名记录；阈值是监管部门的配置，不在账本上，按每条记录当时有效的版本判断。",
        "The readings come from the verified, signed records; the thresholds are the regulator's "
        "configuration, not on the ledger, and each record is judged by the version in force at its time.",
    ),
}
