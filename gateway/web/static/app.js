/* Shared helpers of the window pages: session, API calls, labels, the GB 11643 check. */
"use strict";

const YRD = (() => {
  const TOKEN = "yrd.token", ACCOUNT = "yrd.account";
  const STATUS = {
    submitted: "已申请", accepted: "已受理", refused: "不予受理", transferred: "已流转",
    approved: "审批通过", denied: "审批不予许可", certificate_issued: "已发证", archived: "已归档",
    supplement_requested: "待补正",
  };
  const REGIONS = { SH: "上海", JS: "江苏", ZJ: "浙江", AH: "安徽" };
  const ROLES = { clerk: "窗口工作人员", handler: "承办地审批人员", auditor: "审计人员" };
  const CHECK = {
    pass: "通过", fail: "未通过", skipped: "跳过", not_run: "未执行",
  };

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  function account() {
    try { return JSON.parse(sessionStorage.getItem(ACCOUNT) || "null"); } catch { return null; }
  }

  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    const token = sessionStorage.getItem(TOKEN);
    if (token) headers.Authorization = "Bearer " + token;
    let body = options.body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    const response = await fetch(path, { method: options.method || "GET", headers, body });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!response.ok) {
      if (response.status === 401 && !options.noRedirect) {
        sessionStorage.clear();
        location.href = "/web/index.html?next=" + encodeURIComponent(location.pathname + location.search);
      }
      const err = (data && data.error) || { code: String(response.status),
        message: `请求失败（HTTP ${response.status}）` };
      const error = new Error(err.message);
      error.info = err;
      throw error;
    }
    return data;
  }

  async function signIn(username, password) {
    const data = await api("/api/auth/sign-in", {
      method: "POST", json: { username, password }, noRedirect: true,
    });
    sessionStorage.setItem(TOKEN, data.token);
    sessionStorage.setItem(ACCOUNT, JSON.stringify(data.account));
    return data.account;
  }

  async function signOut() {
    try { await api("/api/auth/sign-out", { method: "POST", noRedirect: true }); } catch { /* gone */ }
    sessionStorage.clear();
    location.href = "/web/index.html";
  }

  function header(requireSignIn = true) {
    const acct = account();
    if (requireSignIn && !acct) {
      location.href = "/web/index.html?next=" + encodeURIComponent(location.pathname + location.search);
      return null;
    }
    const el = document.createElement("header");
    el.className = "top";
    const who = acct
      ? `${esc(acct.city_name ? acct.city_name + "窗口 · " : acct.region ? REGIONS[acct.region] + " · " : "")}${esc(acct.display_name)}（${esc(ROLES[acct.role] || acct.role)}）<button class="secondary" id="sign-out">退出</button>`
      : `<a class="button secondary" href="/web/index.html">登录</a>`;
    el.innerHTML = `<span class="brand">G60 科创走廊 · 跨省通办</span>
      <nav><a href="/web/cases.html">办件列表</a>${acct && acct.role === "clerk" ? '<a href="/web/new.html">新建办件</a><a href="/web/identity.html">身份核验</a>' : ""}
      <a href="/web/matters.html">事项比对</a><a href="/web/licences.html">证照核验</a><a href="/web/audit.html">收据核验</a></nav>
      <span class="who">${who}</span>`;
    document.body.prepend(el);
    const out = el.querySelector("#sign-out");
    if (out) out.addEventListener("click", signOut);
    return acct;
  }

  function showError(target, error) {
    const info = error.info || { message: error.message };
    const field = info.field_label || info.field;
    target.innerHTML = `<div class="error" role="alert">${esc(info.message)}${field ? `（字段：${esc(field)}）` : ""}</div>`;
  }

  /* GB 11643-1999: 17 digits, then the check character from weights 2^(17-i) mod 11. */
  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const CHECKS = "10X98765432";
  const PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
    "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63",
    "64", "65", "71", "81", "82"];

  function checkResidentId(raw) {
    const value = String(raw || "").trim().toUpperCase();
    if (!value) return { ok: false, empty: true, message: "请输入18位居民身份证号码" };
    if (!/^\d{0,17}[\dX]?$/.test(value) || (value.includes("X") && value.indexOf("X") !== 17)) {
      return { ok: false, message: "只能包含数字，最后一位可以是 X" };
    }
    if (value.length < 18) return { ok: false, partial: true, message: `还差 ${18 - value.length} 位` };
    if (!PROVINCES.includes(value.slice(0, 2))) return { ok: false, message: `地区码 ${value.slice(0, 2)} 不是省级行政区代码` };
    const y = +value.slice(6, 10), m = +value.slice(10, 12), d = +value.slice(12, 14);
    const born = new Date(Date.UTC(y, m - 1, d));
    if (y < 1900 || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d || born > new Date()) {
      return { ok: false, message: `出生日期 ${value.slice(6, 14)} 无效` };
    }
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += (+value[i]) * WEIGHTS[i];
    const expected = CHECKS[sum % 11];
    if (value[17] !== expected) return { ok: false, message: `校验位错误：应为 ${expected}，实为 ${value[17]}` };
    return { ok: true, message: "校验通过（GB 11643）" };
  }

  function limitText(limit) {
    if (!limit) return "";
    if (!limit.value) return "即办";  // a promise of 0 days is handled on the spot
    return `${limit.value} 个${limit.unit === "working_days" ? "工作日" : "自然日"}`;
  }

  function fen(amount) { return (amount / 100).toFixed(2) + " 元"; }

  /* The comparison of one matter across provinces (GET /api/matters/{code}/compare). */
  function renderComparison(el, c) {
    const regions = c.regions;
    const differs = new Set(c.differing_fields);
    const cls = (field) => (differs.has(field) ? ' class="diff"' : "");
    const head = `<tr><th>项目</th>${regions.map((r) => `<th>${esc(REGIONS[r])}</th>`).join("")}</tr>`;
    const row = (label, field, cell) =>
      `<tr><th${cls(field)}>${label}</th>${regions.map((r) => `<td${cls(field)}>${cell(r)}</td>`).join("")}</tr>`;
    const rows = [
      row("本地名称", "name", (r) => esc(c.names[r])),
      row("承诺时限", "promised_time_limit", (r) => `${esc(limitText(c.promised_time_limit[r]))}<br><span class="muted">约 ${c.promised_working_days[r]} 个工作日</span>`),
      row("法定时限", "legal_time_limit", (r) => esc(limitText(c.legal_time_limit[r]))),
      row("收费", "fees", (r) => (c.fee_total_fen[r] ? esc(fen(c.fee_total_fen[r])) : "不收费")),
      row("网办深度", "online_depth", (r) => `${c.online_depth[r]} 级`),
      row("办理方式", "handling_modes", (r) => esc(c.handling_modes[r].join("、"))),
      row("最低身份认证", "min_assurance", (r) => esc({ low: "低", substantial: "较高", high: "高" }[c.min_assurance[r]])),
    ];
    for (const m of c.materials) {
      const diff = m.differs ? ' class="diff"' : "";
      rows.push(`<tr><th${diff}>材料：${esc(m.name)}</th>${regions.map((r) => {
        const p = m.by_region[r];
        if (!p.present) return `<td${diff}>不需要</td>`;
        const form = { original: "原件", copy: "复印件", electronic: "电子" }[p.form] || p.form;
        return `<td${diff}>${p.required ? "必需" : "可选"} · ${esc(form)}${p.shareable ? " · 可共享免交" : ""}</td>`;
      }).join("")}</tr>`);
    }
    el.innerHTML = `<p class="muted">${esc(c.name)}（${esc(c.basic_code)}），以 ${esc(c.reference_date)} 为受理日折算工作日；黄色为各省不同之处。</p>
      <table class="compare">${head}${rows.join("")}</table>`;
  }

  /* [issue 14 · chinese] Every time on every page as Beijing time, "2026-12-01 12:20":
     the API gives +08:00 stamps (cases) and UTC "...Z" stamps (log entries); both are the
     same instant, so both must show the same date. China has had no summer time since 1991,
     so UTC+8 is exact. A bare date (a deadline) is shown as it is. */
  function fmtTime(value) {
    if (value === null || value === undefined || value === "") return "";
    const text = String(value);
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) return text;
    return new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 16).replace("T", " ");
  }

  return { api, signIn, signOut, header, account, esc, showError, checkResidentId, STATUS,
    REGIONS, CHECK, limitText, renderComparison, fmtTime };
})();

/* Part "words" (issue 14): state and time badges, one colour class each, and paged reads. */
YRD.STATE_FILTER = {
  submitted: "待受理", accepted: "已受理", transferred: "已流转", approved: "审批通过",
  certificate_issued: "已发证 / 已办结", refused: "不予受理", denied: "不予许可", archived: "已归档",
};

/* The status badge of a case summary: its words (per matter) and its state class colour. */
YRD.stateBadge = function (c, id) {
  return `<span class="badge state-${YRD.esc(c.status_class)}"${id ? ` id="${id}"` : ""}>${YRD.esc(c.status_label)}</span>`;
};

/* Time left on an open case (normal / warning / overdue), or how a closed one ended. */
YRD.timeBadge = function (c) {
  if (c.outcome) return `<span class="badge outcome-${YRD.esc(c.outcome.code)}" data-outcome="${YRD.esc(c.outcome.code)}">${YRD.esc(c.outcome.label)}</span>`;
  return `<span class="badge time-${YRD.esc(c.time_class)}" data-time="${YRD.esc(c.time_class)}">${YRD.esc(c.time_label)}</span>`;
};

/* A GET of a paged list: { items, total } with the total from X-Total-Count. */
YRD.apiPage = async function (path) {
  const token = sessionStorage.getItem("yrd.token");
  const response = await fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {} });
  if (!response.ok) {  // api() raises the error (and signs in again on 401)
    const items = await YRD.api(path);
    return { items, total: items.length };
  }
  return { items: await response.json(), total: +(response.headers.get("X-Total-Count") || 0) };
};

/* hygiene (issue 14): a bookmarked page in a new tab. sessionStorage is per tab, the
   HttpOnly session cookie is not: GET /api/auth/session (a read, the cookie's session)
   hands this tab the bearer token again, so writes still carry Authorization: Bearer. */
YRD.resumeSession = async function resumeSession() {
  if (YRD.account()) return YRD.account();
  try {
    const data = await YRD.api("/api/auth/session", { noRedirect: true });
    sessionStorage.setItem("yrd.token", data.token);
    sessionStorage.setItem("yrd.account", JSON.stringify(data.account));
    return data.account;
  } catch {
    return null;  /* no valid cookie: sign in */
  }
};
