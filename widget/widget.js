/*! chatserver widget: live support for any page. Vanilla JS, no dependencies, no other hosts.
 *
 * <script src="https://CHAT-SERVER/widget.js" async data-locale="tr" data-position="right"></script>
 *
 * Everything it shows is in a Shadow DOM (styles cannot leak in or out) and every string comes
 * from the catalog of the chosen language. Player text is only ever inserted as text.
 * docs/embedding.md describes the options, the JS API and the events.
 */
(function () {
  "use strict";
  if (window.ChatWidget && window.ChatWidget.version) return; // loaded twice

  var VERSION = "1.0";
  var LOCALES = ["tr", "en"];

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll('script[src*="widget.js"]');
    return all[all.length - 1];
  })();
  var data = (script && script.dataset) || {};
  var server = (data.server || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var wsUrl = server.replace(/^http/, "ws") + "/ws/player";
  var locale = pickLocale(data.locale);
  var side = data.position === "left" ? "left" : "right";
  var color = /^#[0-9a-fA-F]{6}$/.test(data.color || "") ? data.color : "#0b5cad";
  var identity = data.identity || null;
  // a notification's link to a request (#cs-request=<secret>): taken out of the address at once
  var linked = (location.hash.match(/[#&]cs-request=([A-Za-z0-9_-]{10,200})/) || [])[1] || null;
  if (linked && window.history && history.replaceState) history.replaceState(null, "", location.pathname + location.search);
  var KEY = "chatserver:" + server;

  function pickLocale(wanted) {
    var list = [wanted].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < list.length; i++) {
      var code = String(list[i] || "").toLowerCase().slice(0, 2);
      if (LOCALES.indexOf(code) >= 0) return code;
    }
    return "en";
  }

  // -- persistence (localStorage may be unavailable: then the chat lives as long as the page) --

  var memory = {};
  function loadStored() {
    try {
      return JSON.parse(window.localStorage.getItem(KEY)) || {};
    } catch (e) {
      return memory;
    }
  }
  function store() {
    var value = {
      session: st.session,
      live: st.state === "queued" || st.state === "active",
      open: st.open,
      seen: st.seen,
      pending: st.pending.map(function (p) { return { id: p.id, text: p.text }; })
    };
    memory = value;
    try {
      window.localStorage.setItem(KEY, JSON.stringify(value));
    } catch (e) { /* private mode: keep it in memory */ }
  }

  // -- state --

  var saved = loadStored();
  var st = {
    session: saved.session || null,
    open: !!saved.open,
    seen: saved.seen || 0, // highest seq the player has looked at (for the unread badge)
    state: "connecting", // connecting | prechat | offline | queued | active | ended
    available: true,
    chat: null,
    agent: null,
    lastSeq: 0,
    shown: {}, // seq -> element
    pending: [], // own messages without an ack: {id, text, el, failed}
    uploads: {}, // own files on their way: id -> {file, el, bar, status}
    unread: 0,
    ended: null,
    ws: null,
    connected: false,
    retry: 0,
    timers: {},
    serverPings: 0, // ms between the server's pings (welcome.ping_seconds); 0: the widget pings
    topics: [],
    lastLeave: null,
    typingSentAt: 0,
    eta: null, // the queue's estimated wait for this player (seconds), for the header
    email: false // whether this server sends e-mail (welcome.email): the transcript button
  };
  (saved.pending || []).forEach(function (p) { st.pending.push({ id: p.id, text: p.text }); });

  var T = {};
  function t(key, vars) {
    var s = Object.prototype.hasOwnProperty.call(T, key) ? T[key] : key;
    return vars ? s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k] == null ? "" : vars[k]; }) : s;
  }

  function emit(name, detail) {
    try {
      window.dispatchEvent(new CustomEvent("chat:" + name, { detail: detail || {} }));
    } catch (e) { /* very old browsers */ }
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  // -- DOM helpers: text always goes in as text --

  function h(tag, props, kids) {
    var el = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v == null || v === false) return;
        if (k === "text") el.textContent = v;
        else if (k === "class") el.className = v;
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : v);
      });
    }
    (kids || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }

  var URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
  // Text with http(s) links made clickable; nothing in it is ever parsed as HTML.
  function linkify(parent, text) {
    var last = 0;
    text.replace(URL_RE, function (match, offset) {
      var url = match.replace(/[.,;:!?)\]]+$/, "");
      var safe = null;
      try {
        var u = new URL(url);
        if (u.protocol === "http:" || u.protocol === "https:") safe = u.href;
      } catch (e) { /* not a URL after all */ }
      if (!safe) return match;
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      parent.appendChild(h("a", { href: safe, target: "_blank", rel: "noopener noreferrer nofollow", text: url }));
      last = offset + url.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function clock(ts) {
    try {
      return new Date(ts).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return "";
    }
  }

  function duration(seconds) {
    if (seconds < 60) return t("duration.soon");
    return t("duration.minutes", { m: Math.round(seconds / 60) });
  }

  // -- the window --

  var host, root, ui = {};

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}",
    ".launcher{position:fixed;bottom:20px;SIDE:20px;width:60px;height:60px;border-radius:50%;border:0;",
    "background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}",
    ".launcher svg{width:28px;height:28px;fill:currentColor}",
    // a two-tone focus ring: white inside, near-black outside, visible on any background (>= 3:1)
    ".launcher:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,a:focus-visible,summary:focus-visible",
    "{outline:2px solid #fff;outline-offset:0;box-shadow:0 0 0 5px #1f2328}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;",
    "background:#b3261e;color:#fff;font:700 12px/22px system-ui,sans-serif}",
    ".panel{position:fixed;bottom:92px;SIDE:20px;width:370px;height:min(600px,calc(100vh - 112px));display:flex;",
    "flex-direction:column;background:#fff;color:#1f2328;border-radius:14px;overflow:hidden;",
    "box-shadow:0 10px 40px rgba(0,0,0,.3);z-index:2147483000;font-size:15px;line-height:1.4}",
    ".panel[hidden],[hidden]{display:none!important}",
    "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0}}",
    "header{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--c);color:#fff}",
    "header h2{margin:0;font-size:17px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".avatar{flex:none;width:38px;height:38px;border-radius:50%;background:rgba(255,255,255,.22);color:#fff;",
    "display:flex;align-items:center;justify-content:center;font:700 15px/1 system-ui,sans-serif}",
    ".avatar svg{width:22px;height:22px}",
    "header .sub{font-size:13px;opacity:.95;margin-top:2px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    "header .grow{flex:1;min-width:0}",
    "header button{background:transparent;border:1px solid rgba(255,255,255,.7);color:#fff;border-radius:8px;",
    "padding:6px 10px;font-size:13px;cursor:pointer;min-height:36px;white-space:nowrap;flex:none}",
    ".conn{background:#fff4ce;color:#5c4400;padding:6px 12px;font-size:13px}",
    ".view{flex:1;overflow:auto;padding:16px}",
    ".view.chat{display:flex;flex-direction:column;padding:0;overflow:hidden}",
    "form{display:flex;flex-direction:column;gap:12px}",
    "label{font-weight:600;font-size:14px;display:block;margin-bottom:4px}",
    "label .opt{font-weight:400;color:#57606a}",
    ".hint{font-size:13px;color:#57606a;margin:4px 0 0}",
    "input[type=text],input[type=email],select,textarea{width:100%;padding:9px 10px;border:1px solid #6e7781;",
    "border-radius:8px;font-size:16px;color:#1f2328;background:#fff}", // 16 px: phones do not zoom in
    "textarea{resize:none}",
    "[aria-invalid=true]{border-color:#b3261e!important}",
    ".err{color:#b3261e;font-size:13px;margin-top:4px}",
    ".check{display:flex;gap:8px;align-items:flex-start}",
    ".check input{width:20px;height:20px;margin:0}",
    ".check label{font-weight:500;margin:0}",
    ".primary{background:var(--c);color:#fff;border:0;border-radius:8px;padding:11px 14px;font-size:15px;",
    "font-weight:600;cursor:pointer;min-height:44px}",
    ".primary[disabled]{opacity:.6;cursor:default}",
    ".link{background:none;border:0;color:var(--c);text-decoration:underline;cursor:pointer;font-size:14px;padding:4px}",
    ".intro{margin:0 0 4px;color:#3d444d}",
    ".queue{padding:10px 14px;background:#eef5fc;border-bottom:1px solid #d0def0;font-size:14px}",
    ".queue p{margin:0 0 4px}",
    ".log{flex:1;overflow:auto;padding:14px;display:flex;flex-direction:column;gap:8px}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg .meta{font-size:12px;margin-top:3px;opacity:.85}",
    ".msg a{color:inherit}",
    ".msg.player{align-self:flex-end;background:var(--c);color:#fff;border-bottom-right-radius:4px}",
    ".msg.agent{align-self:flex-start;background:#eaeef2;color:#1f2328;border-bottom-left-radius:4px}",
    // consecutive messages of one side are one group: closer together, the name once
    ".msg.player+.msg.player,.msg.agent+.msg.agent{margin-top:-5px}",
    ".msg.player+.msg.player{border-top-right-radius:4px}.msg.agent+.msg.agent{border-top-left-radius:4px}",
    ".msg.agent+.msg.agent .who{display:none}",
    ".msg.system{align-self:center;background:none;color:#57606a;font-size:13px;text-align:center;padding:2px}",
    ".msg.failed{background:#fbe9e7;color:#8c1d18}",
    ".msg .who{font-size:12px;font-weight:600;margin-bottom:2px}",
    ".msg button{background:none;border:0;color:inherit;text-decoration:underline;cursor:pointer;padding:0;font-size:12px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".typing{padding:0 14px 6px;font-size:13px;color:#57606a;min-height:20px}",
    ".composer{display:flex;gap:8px;padding:10px;border-top:1px solid #d0d7de}",
    ".composer textarea{flex:1;height:44px;max-height:120px}",
    ".icon{background:#fff;color:#1f2328;border:1px solid #6e7781;border-radius:8px;min-width:44px;min-height:44px;cursor:pointer;display:inline-flex;align-items:center;justify-content:center}",
    ".file svg{vertical-align:-4px}",
    ".file button{background:none;border:0;padding:0;cursor:pointer;color:inherit;text-align:left;font:inherit;text-decoration:underline}",
    ".file img{display:block;max-width:220px;max-height:220px;border-radius:8px;background:#fff}",
    ".file progress{display:block;width:180px;margin-top:4px}",
    ".log.drop{outline:3px dashed var(--c);outline-offset:-6px}",
    ".number{font:700 24px/1.3 ui-monospace,Menlo,Consolas,monospace;letter-spacing:1px;margin:6px 0}",
    ".row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}",
    "fieldset{border:0;padding:0;margin:0}",
    "legend{font-weight:600;font-size:14px;margin-bottom:6px;padding:0}",
    ".stars .row{gap:2px}",
    ".stars input{position:absolute;opacity:0;width:1px;height:1px}",
    ".stars label{display:inline-flex;align-items:center;justify-content:center;width:48px;height:48px;margin:0;",
    "font-size:34px;line-height:1;color:#8c959f;cursor:pointer;border-radius:8px}",
    ".stars label.on{color:#b26b00}",
    ".stars input:focus-visible+span{outline:2px solid #fff;box-shadow:0 0 0 5px #1f2328;border-radius:6px}",
    "details.transcript{margin:12px 0;border:1px solid #d0d7de;border-radius:8px}",
    "details.transcript summary{cursor:pointer;padding:10px 12px;font-weight:600;min-height:44px}",
    "details.transcript .log{max-height:260px;padding:8px 12px}",
    ".dialog{position:absolute;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;padding:20px}",
    ".dialog>div{background:#fff;border-radius:12px;padding:18px;max-width:300px;display:flex;flex-direction:column;gap:12px}",
    ".dialog p{margin:0;font-weight:600}",
    ".secondary{background:#fff;color:#1f2328;border:1px solid #6e7781;border-radius:8px;padding:10px 14px;",
    "font-size:15px;cursor:pointer;min-height:44px}",
    ".ok{color:#1a7f37;font-weight:600}",
    ".suggestions{list-style:none;margin:8px 0 14px;padding:0;display:flex;flex-direction:column;gap:10px}",
    ".suggestions>li{border:1px solid #d0d7de;border-radius:8px;padding:8px 10px}",
    ".suggestions .title{font-weight:600;text-align:left;padding:4px 0;font-size:15px}",
    ".suggestions.small{margin:4px 0}.suggestions.small>li{border:0;padding:0}",
    ".suggestions.small a{color:var(--c)}",
    ".article{font-size:14px;margin:6px 0}.article p{margin:0 0 8px}.article ul,.article ol{padding-left:20px;margin:0 0 8px}",
    ".wide{width:100%}",
    ".nps .row{gap:2px;flex-wrap:nowrap}",
    ".nps-score{position:relative;margin:0;flex:1}",
    ".nps-score input{position:absolute;opacity:0;width:1px;height:1px}",
    ".nps-score span{display:flex;align-items:center;justify-content:center;min-height:32px;border:1px solid #6e7781;border-radius:6px;font-size:13px;cursor:pointer}",
    ".nps-score input:checked+span{background:var(--c);color:#fff;border-color:var(--c)}",
    ".nps-score input:focus-visible+span{outline:2px solid #fff;box-shadow:0 0 0 5px #1f2328}",
    ".nps-ends{justify-content:space-between;margin-top:2px}",
    "a.help,button.help{color:var(--c);font-size:14px;text-align:center}",
    ".timeline{margin:6px 0 10px;padding:0;list-style:none;font-size:13px;color:#57606a}",
    ".req .log{max-height:220px;border:1px solid #d0d7de;border-radius:8px;padding:8px;margin-bottom:10px}"
  ].join("\n").replace(/SIDE/g, side);

  var ICON = "M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4.5 21l4.3-2.3c1 .3 2.1.4 3.2.4 5.5 0 10-3.6 10-8S17.5 3 12 3z";
  var CROSS = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z";
  // a paperclip, drawn: no emoji font needed
  var CLIP = "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z";

  function icon(d) {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("width", "20");
    svg.setAttribute("height", "20");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function build() {
    host = h("div", { id: "chatserver-widget" });
    root = host.attachShadow({ mode: "open" });
    root.appendChild(h("style", { text: CSS }));
    host.style.setProperty("--c", color);

    var svg = icon(ICON);
    ui.launcherClose = icon(CROSS);
    ui.launcherClose.style.display = "none";
    ui.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    ui.launcher = h("button", {
      class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "cs-panel",
      "aria-label": t("launcher"), onclick: function () { setOpen(!st.open); }
    }, [svg, ui.launcherClose, ui.badge]);
    ui.launcherOpen = svg;

    ui.title = h("h2", { id: "cs-title", text: t("title") });
    ui.sub = h("div", { class: "sub", "aria-live": "polite" });
    ui.avatar = h("div", { class: "avatar", "aria-hidden": "true" }, [icon(ICON)]);
    ui.endBtn = h("button", { type: "button", hidden: true, text: t("chat.end"), "aria-label": t("chat.end_label"), onclick: function () { confirmEnd(); } });
    ui.closeBtn = h("button", { type: "button", "aria-label": t("close"), text: "—", onclick: function () { setOpen(false); } });
    var header = h("header", null, [ui.avatar, h("div", { class: "grow" }, [ui.title, ui.sub]), ui.endBtn, ui.closeBtn]);
    ui.conn = h("div", { class: "conn", role: "status", hidden: true });

    ui.views = {
      connecting: h("div", { class: "view", role: "status", text: t("connecting") }),
      prechat: buildPrechat(),
      offline: buildOffline(),
      chat: buildChat(),
      ended: buildEnded(),
      suggest: buildSuggest(),
      served: buildServed(),
      follow: buildFollow()
    };
    ui.panel = h("section", {
      class: "panel", id: "cs-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "cs-title", hidden: true,
      onkeydown: function (ev) { if (ev.key === "Escape") { ev.stopPropagation(); setOpen(false); } }
    }, [header, ui.conn].concat(Object.keys(ui.views).map(function (k) { return ui.views[k]; })));

    root.appendChild(ui.launcher);
    root.appendChild(ui.panel);
    document.body.appendChild(host);
    prechatRules();
  }

  // A labelled field with a place for its error; returns {wrap, input, error}.
  function field(name, kind, label, opts) {
    opts = opts || {};
    var id = "cs-" + opts.form + "-" + name;
    var input;
    if (kind === "select") input = h("select", { id: id, name: name });
    else if (kind === "textarea") input = h("textarea", { id: id, name: name, rows: 4 });
    else input = h("input", { id: id, name: name, type: kind, autocomplete: opts.autocomplete || "off", maxlength: opts.max });
    var error = h("div", { class: "err", id: id + "-err", hidden: true });
    input.setAttribute("aria-describedby", id + "-err");
    var opt = h("span", { class: "opt", text: "(" + t("optional") + ")", hidden: !opts.optional });
    var hint = opts.hint ? h("p", { class: "hint", id: id + "-hint", text: opts.hint }) : null;
    if (hint) input.setAttribute("aria-describedby", id + "-hint " + id + "-err");
    var lab = h("label", { for: id, text: label + " " }, [opt]);
    return { wrap: h("div", null, [lab, input, hint, error]), input: input, error: error, opt: opt, hint: hint };
  }

  function ageBox(form) {
    var id = "cs-" + form + "-age";
    var input = h("input", { type: "checkbox", id: id, name: "age_confirmed" });
    var error = h("div", { class: "err", id: id + "-err", hidden: true });
    input.setAttribute("aria-describedby", id + "-err");
    return { wrap: h("div", null, [h("div", { class: "check" }, [input, h("label", { for: id, text: t("field.age") })]), error]), input: input, error: error };
  }

  function buildPrechat() {
    var f = ui.pre = {
      name: field("name", "text", t("field.name"), { form: "pre", optional: true, autocomplete: "name", max: 100 }),
      username: field("username", "text", t("field.username"), { form: "pre", optional: true, autocomplete: "username", max: 64, hint: t("field.username_hint") }),
      email: field("email", "email", t("field.email"), { form: "pre", autocomplete: "email", max: 254 }),
      phone: field("phone", "tel", t("field.phone"), { form: "pre", optional: true, autocomplete: "tel", max: 32, hint: t("field.phone_hint") }),
      topic: field("topic", "select", t("field.topic"), { form: "pre" }),
      question: field("question", "textarea", t("field.question"), { form: "pre", optional: true }),
      age_confirmed: ageBox("pre")
    };
    f.question.input.setAttribute("maxlength", "1000");
    f.question.input.rows = 3;
    f.submit = h("button", { class: "primary", type: "submit", text: t("prechat.submit") });
    // a members-only topic needs the account's username and e-mail (unless the site vouches)
    f.hint = h("p", { class: "intro", id: "cs-pre-hint", "aria-live": "polite", hidden: true, text: t("prechat.members_hint") });
    f.topic.input.addEventListener("change", function () { prechatRules(); });
    f.form = h("form", { novalidate: true, onsubmit: function (ev) { ev.preventDefault(); submitPrechat(); } },
      [h("p", { class: "intro" }, [h("strong", { text: t("header.greeting") }), document.createTextNode(" " + t("prechat.intro"))]), f.topic.wrap, f.hint, f.name.wrap, f.email.wrap, f.username.wrap, f.phone.wrap, f.question.wrap, f.age_confirmed.wrap, f.submit,
       h("a", { class: "help", href: server + "/help?lang=" + locale, target: "_blank", rel: "noopener", text: t("help.link") }),
       followLink()]);
    return h("div", { class: "view", hidden: true }, [f.form]);
  }

  // The labels say what the chosen topic asks for: a guest gives a name and an e-mail; a
  // members-only topic the account's username and e-mail; a player the site vouches for
  // (identity token) nothing more.
  function need(f, required) {
    f.opt.hidden = required;
    if (required) f.input.setAttribute("aria-required", "true");
    else f.input.removeAttribute("aria-required");
  }

  function prechatRules() {
    var f = ui.pre;
    var tp = topicById(f.topic.input.value);
    var member = !!(tp && tp.members_only) && !identity;
    f.hint.hidden = !member;
    need(f.name, !identity && !member);
    need(f.email, !identity);
    need(f.username, member);
    f.username.hint.textContent = member ? t("field.username_hint_member") : t("field.username_hint");
  }

  function buildOffline() {
    var f = ui.off = {
      name: field("name", "text", t("field.name"), { form: "off", optional: true, autocomplete: "name", max: 100 }),
      // (the offline form needs only an e-mail to answer to)
      email: field("email", "email", t("field.email"), { form: "off", autocomplete: "email", max: 254 }),
      topic: field("topic", "select", t("field.topic"), { form: "off" }),
      text: field("text", "textarea", t("field.message"), { form: "off" }),
      age_confirmed: ageBox("off")
    };
    f.submit = h("button", { class: "primary", type: "submit", text: t("offline.submit") });
    ui.offReason = h("p", { class: "intro", role: "status", text: t("offline.intro") });
    f.form = h("form", { novalidate: true, onsubmit: function (ev) { ev.preventDefault(); submitOffline(); } },
      [h("h3", { text: t("offline.title") }), ui.offReason,
        f.name.wrap, f.email.wrap, f.topic.wrap, f.text.wrap, f.age_confirmed.wrap, f.submit, followLink()]);
    return h("div", { class: "view", hidden: true }, [f.form]);
  }

  function buildChat() {
    ui.queuePos = h("p");
    ui.queueEta = h("p");
    ui.waitList = h("ul", { class: "suggestions small" });
    ui.waitBox = h("div", { hidden: true }, [h("p", { text: t("queue.suggest") }), ui.waitList]);
    ui.queue = h("div", { class: "queue", role: "status", hidden: true }, [
      ui.queuePos, ui.queueEta, ui.waitBox,
      h("button", { type: "button", class: "link", text: t("queue.leave"), onclick: function () { confirmEnd(); } })
    ]);
    ui.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("chat.log"), tabindex: "0" });
    ui.typing = h("div", { class: "typing", "aria-live": "polite" });
    ui.input = h("textarea", {
      rows: 1, "aria-label": t("chat.placeholder"), placeholder: t("chat.placeholder"),
      onkeydown: function (ev) {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendMessage(); }
      },
      oninput: function () { typing(); }
    });
    ui.send = h("button", { type: "button", class: "primary", text: t("chat.send"), onclick: function () { sendMessage(); } });
    ui.file = h("input", { type: "file", id: "cs-file", hidden: true, multiple: true, accept: "image/*,application/pdf,text/plain",
      onchange: function () { Array.prototype.forEach.call(ui.file.files, attach); ui.file.value = ""; } });
    ui.attach = h("button", { type: "button", class: "icon", "aria-label": t("file.attach"), title: t("file.attach"),
      onclick: function () { ui.file.click(); } }, [icon(CLIP)]);
    ui.input.addEventListener("paste", function (ev) {
      var files = ev.clipboardData && ev.clipboardData.files;
      if (files && files.length) { ev.preventDefault(); Array.prototype.forEach.call(files, attach); }
    });
    ["dragenter", "dragover"].forEach(function (name) {
      ui.log.addEventListener(name, function (ev) { if (canAttach()) { ev.preventDefault(); ui.log.classList.add("drop"); } });
    });
    ui.log.addEventListener("dragleave", function () { ui.log.classList.remove("drop"); });
    ui.log.addEventListener("drop", function (ev) {
      ui.log.classList.remove("drop");
      if (!canAttach() || !ev.dataTransfer) return;
      ev.preventDefault();
      Array.prototype.forEach.call(ev.dataTransfer.files, attach);
    });
    ui.dialogText = h("p", { id: "cs-confirm" });
    ui.dialogYes = h("button", { type: "button", class: "primary", text: t("confirm.yes"), onclick: function () { closeDialog(); send({ type: "end" }); } });
    ui.dialogNo = h("button", { type: "button", class: "secondary", text: t("confirm.no"), onclick: function () { closeDialog(); ui.input.focus(); } });
    ui.dialog = h("div", { class: "dialog", role: "alertdialog", "aria-modal": "true", "aria-labelledby": "cs-confirm", hidden: true },
      [h("div", null, [ui.dialogText, ui.dialogYes, ui.dialogNo])]);
    return h("div", { class: "view chat", hidden: true, style: "position:relative" },
      [ui.queue, ui.log, ui.typing, h("div", { class: "composer" }, [ui.attach, ui.file, ui.input, ui.send]), ui.dialog]);
  }

  function buildEnded() {
    ui.endTitle = h("h3", { id: "cs-ended-title" });
    ui.number = h("div", { class: "number" });
    ui.copy = h("button", { type: "button", class: "secondary", text: t("ended.copy"), onclick: copyNumber });
    var resolved = h("fieldset", null, [h("legend", { text: t("ended.resolved") }), h("div", { class: "row" }, [
      h("label", null, [h("input", { type: "radio", name: "resolved", value: "yes" }), document.createTextNode(" " + t("ended.yes"))]),
      h("label", null, [h("input", { type: "radio", name: "resolved", value: "no" }), document.createTextNode(" " + t("ended.no"))])
    ])]);
    // five stars: radio buttons (arrow keys move between them) drawn as large stars, the
    // chosen one and those before it lit
    var stars = [];
    for (var n = 1; n <= 5; n++) {
      stars.push(h("label", { title: t("ended.stars", { n: n }) }, [
        h("input", { type: "radio", name: "rating", value: String(n), "aria-label": t("ended.stars", { n: n }), onchange: lightStars }),
        h("span", { "aria-hidden": "true", text: "★" })]));
    }
    ui.stars = stars;
    // "how likely are you to recommend us?", 0 to 10: optional, next to the rating
    var scores = [];
    for (var s = 0; s <= 10; s++) {
      scores.push(h("label", { class: "nps-score" }, [
        h("input", { type: "radio", name: "nps", value: String(s), "aria-label": t("ended.nps_score", { n: s }) }),
        h("span", { text: String(s), "aria-hidden": "true" })
      ]));
    }
    var nps = h("fieldset", { class: "nps" }, [h("legend", { text: t("ended.nps") + " " }, [h("span", { class: "opt", text: "(" + t("optional") + ")" })]),
      h("div", { class: "row", role: "radiogroup", "aria-label": t("ended.nps") }, scores),
      h("div", { class: "hint row nps-ends" }, [h("span", { text: t("ended.nps_low") }), h("span", { text: t("ended.nps_high") })])]);
    ui.comment = h("textarea", { id: "cs-comment", rows: 2, maxlength: 1000 });
    ui.rateErr = h("div", { class: "err", role: "alert", hidden: true });
    ui.rateForm = h("form", { novalidate: true, onsubmit: function (ev) { ev.preventDefault(); submitRating(); } }, [
      resolved, h("fieldset", { class: "stars" }, [h("legend", { text: t("ended.rating") }),
        h("div", { class: "row", role: "radiogroup", "aria-label": t("ended.stars_legend") }, stars)]),
      nps,
      h("div", null, [h("label", { for: "cs-comment", text: t("ended.comment") + " " }, [h("span", { class: "opt", text: "(" + t("optional") + ")" })]), ui.comment]),
      ui.rateErr, h("button", { class: "primary", type: "submit", text: t("ended.submit") })
    ]);
    ui.thanks = h("p", { class: "ok", role: "status", hidden: true, text: t("ended.thanks") });
    ui.emailBtn = h("button", { type: "button", id: "cs-email", class: "secondary", text: t("ended.email"), onclick: function () {
      ui.emailBtn.disabled = true;
      ui.emailStatus.textContent = "";
      if (!send({ type: "email_transcript" })) ui.emailBtn.disabled = false;
    } });
    ui.emailStatus = h("p", { role: "status" });
    ui.newChat = h("button", { type: "button", class: "link", text: t("ended.new"), onclick: newChat });
    // the conversation stays readable after the end, folded away under the number
    ui.transcriptTitle = h("summary");
    ui.transcript = h("details", { class: "transcript", hidden: true }, [ui.transcriptTitle]);
    ui.emailRow = h("div", { class: "row", hidden: true }, [ui.emailBtn]);
    return h("div", { class: "view", hidden: true, "aria-labelledby": "cs-ended-title" }, [
      ui.endTitle, h("p", { text: t("ended.number") }), h("div", { class: "row" }, [ui.number, ui.copy]),
      h("p", { text: t("ended.keep") }), ui.emailRow, ui.emailStatus, ui.transcript,
      ui.rateForm, ui.thanks, ui.newChat
    ]);
  }

  function lightStars() {
    var chosen = ui.rateForm.querySelector("input[name=rating]:checked");
    var n = chosen ? Number(chosen.value) : 0;
    ui.stars.forEach(function (label, i) { label.classList.toggle("on", i < n); });
  }

  function keepTranscript() {
    var copy = ui.log.cloneNode(true);
    copy.removeAttribute("aria-live");
    copy.removeAttribute("tabindex");
    copy.querySelectorAll("button").forEach(function (b) { b.remove(); });
    var count = copy.querySelectorAll(".msg:not(.system)").length;
    if (ui.transcript.lastChild !== ui.transcriptTitle) ui.transcript.removeChild(ui.transcript.lastChild);
    ui.transcript.open = false;
    ui.transcriptTitle.textContent = t("ended.transcript", { n: count });
    ui.transcript.appendChild(copy);
    ui.transcript.hidden = count === 0;
  }

  function topicById(id) {
    for (var i = 0; i < st.topics.length; i++) if (st.topics[i].id === id) return st.topics[i];
    return null;
  }

  function fillTopics(select) {
    var chosen = select.value;
    select.textContent = "";
    select.appendChild(h("option", { value: "", text: t("field.topic_choose") }));
    st.topics.forEach(function (tp) {
      var key = "topic." + tp.id;
      var label = tp.labels && tp.labels[locale] ? tp.labels[locale] : (T[key] || tp.label || tp.id);
      if (tp.members_only) label += t("topic.members_suffix");
      select.appendChild(h("option", { value: tp.id, text: label }));
    });
    select.value = chosen;
  }

  // -- showing things --

  function initials(name) {
    return String(name).trim().split(/\s+/).slice(0, 2).map(function (w) { return w.charAt(0); }).join("").toLocaleUpperCase(locale);
  }

  function show(view) {
    Object.keys(ui.views).forEach(function (k) { ui.views[k].hidden = k !== view; });
    ui.endBtn.hidden = !(st.state === "active" || st.state === "queued");
    var sub = t("header.reply");
    if (st.state === "active" && st.agent) sub = t("chat.with", { name: st.agent });
    else if (st.state === "queued") sub = st.eta == null ? t("chat.waiting") : t("header.reply_eta", { eta: duration(st.eta) });
    else if (st.state === "ended") sub = "";
    ui.sub.textContent = sub;
    // the agent's initials while one is with the player; the chat icon otherwise
    ui.avatar.textContent = "";
    if (st.state === "active" && st.agent) ui.avatar.textContent = initials(st.agent);
    else ui.avatar.appendChild(icon(ICON));
  }

  function viewFor(state) {
    if (state === "queued" || state === "active") return "chat";
    if (state === "prechat") return st.kbView || (st.available ? "prechat" : "offline");
    return state;
  }

  function setState(state) {
    st.state = state;
    show(viewFor(state));
    ui.queue.hidden = state !== "queued";
    store();
  }

  function focusView() {
    var view = ui.views[viewFor(st.state)];
    var target = view && view.querySelector("input,select,textarea,button");
    if (st.state === "queued" || st.state === "active") target = ui.input;
    if (st.state === "ended") target = ui.copy;
    if (target) target.focus();
  }

  function setOpen(open) {
    st.open = open;
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    // while open, the launcher closes the window (an X), as people expect of a chat bubble
    ui.launcherOpen.style.display = open ? "none" : "";
    ui.launcherClose.style.display = open ? "" : "none";
    if (open) {
      st.unread = 0;
      st.seen = Math.max(st.seen, st.lastSeq);
      badge();
      if (!st.ws) connect();
      focusView();
      scrollDown();
    } else {
      badge();
      ui.launcher.focus();
    }
    store();
    emit(open ? "open" : "close");
  }

  function badge() {
    ui.badge.hidden = st.unread === 0;
    ui.badge.textContent = st.unread > 9 ? "9+" : String(st.unread);
    ui.launcher.setAttribute("aria-label", st.open ? t("launcher_close") : st.unread ? t("launcher_unread", { n: st.unread }) : t("launcher"));
    emit("unread", { count: st.unread });
  }

  function scrollDown() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function showQueue(f) {
    st.eta = f.eta_seconds;
    show(viewFor(st.state));
    ui.queuePos.textContent = t("queue.position", { position: f.position });
    ui.queueEta.textContent = f.eta_seconds == null ? t("queue.eta_unknown") : t("queue.eta", { eta: duration(f.eta_seconds) });
  }

  function messageText(m) {
    if (m.from === "system" && m.event && T["event." + m.event]) return t("event." + m.event, { name: m.name || "" });
    return m.text;
  }

  // Put a message element in seq order; own messages without a seq stay at the end.
  function place(el, seq) {
    var kids = ui.log.children;
    for (var i = 0; i < kids.length; i++) {
      var s = Number(kids[i].getAttribute("data-seq") || Infinity);
      if (s > seq) { ui.log.insertBefore(el, kids[i]); return; }
    }
    ui.log.appendChild(el);
  }

  function bubble(from, who, text, ts, file) {
    var body = h("div", { class: file ? "text file" : "text" });
    if (file) fileView(body, file);
    else linkify(body, text);
    var meta = h("div", { class: "meta", text: ts ? clock(ts) : "" });
    var kids = [h("span", { class: "sr", text: who + ": " })];
    if (from === "agent") kids.push(h("div", { class: "who", "aria-hidden": "true", text: who }));
    return h("div", { class: "msg " + from }, kids.concat([body, meta]));
  }

  function addMessage(m) {
    if (st.shown[m.seq]) return; // replay after resume: never twice
    var mine = null;
    for (var i = 0; i < st.pending.length; i++) if (st.pending[i].id === m.id) mine = st.pending[i];
    var el;
    if (m.from === "player" && mine) {
      acked(mine, m.seq);
      return;
    }
    var upload = st.uploads[m.id];
    if (m.from === "player" && upload) {
      delete st.uploads[m.id];
      if (upload.el && upload.el.parentNode) upload.el.parentNode.removeChild(upload.el);
    }
    var who = m.from === "agent" ? (m.name || t("chat.agent")) : m.from === "player" ? t("chat.you") : t("chat.system");
    el = bubble(m.from, who, messageText(m), m.ts, m.file);
    // the player's own message from the server (replayed after a reload, or from another
    // tab) is stored, so it is sent: it says so, as it did when it was acknowledged
    if (m.from === "player") el.querySelector(".meta").textContent = clock(m.ts) + " · " + t("chat.sent");
    el.setAttribute("data-seq", m.seq);
    st.shown[m.seq] = el;
    place(el, m.seq);
    st.lastSeq = Math.max(st.lastSeq, m.seq);
    if (m.from === "agent") ui.typing.textContent = "";
    if (m.from !== "player") {
      if (st.open && !document.hidden) st.seen = Math.max(st.seen, m.seq);
      else if (m.seq > st.seen) { st.unread++; badge(); }
    }
    scrollDown();
    emit("message", { seq: m.seq, from: m.from, text: m.text });
  }

  function ownBubble(p) {
    p.el = bubble("player", t("chat.you"), p.text, Date.now());
    p.status = p.el.querySelector(".meta");
    p.status.textContent = t("chat.sending");
    ui.log.appendChild(p.el);
    scrollDown();
  }

  function acked(p, seq) {
    st.pending = st.pending.filter(function (x) { return x !== p; });
    if (!p.el) ownBubble(p);
    p.el.classList.remove("failed");
    p.status.textContent = clock(Date.now()) + " · " + t("chat.sent");
    p.el.setAttribute("data-seq", seq);
    ui.log.removeChild(p.el);
    place(p.el, seq);
    st.shown[seq] = p.el;
    st.lastSeq = Math.max(st.lastSeq, seq);
    store();
    emit("message", { seq: seq, from: "player", text: p.text });
  }

  function failed(p) {
    p.failed = true;
    p.el.classList.add("failed");
    p.status.textContent = t("chat.failed") + " · ";
    p.status.appendChild(h("button", { type: "button", text: t("chat.retry"), onclick: function () { p.failed = false; trySend(p); } }));
  }

  function trySend(p) {
    if (!p.el) ownBubble(p);
    p.el.classList.remove("failed");
    p.status.textContent = t("chat.sending");
    send({ type: "message", id: p.id, text: p.text });
  }

  // -- files: uploaded with the session as credential, fetched the same way (never in a URL) --

  function canAttach() {
    return !!st.chat && (st.state === "queued" || st.state === "active");
  }

  function size(n) {
    return n < 1024 ? n + " B" : n < 1048576 ? Math.round(n / 1024) + " KB" : (n / 1048576).toFixed(1) + " MB";
  }

  function authedBlob(path) {
    return fetch(server + path, { headers: { Authorization: "Session " + st.session } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.blob();
    }).then(function (b) { return URL.createObjectURL(b); });
  }

  function download(f) {
    authedBlob(f.url).then(function (url) {
      var a = h("a", { href: url, download: f.name, hidden: true });
      root.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 30000);
    }).catch(function () {});
  }

  function fileView(box, f) {
    var label = t("file.download", { name: f.name, size: size(f.size) });
    if (f.thumbnail_url) {
      var img = h("img", { alt: f.name, width: f.width && Math.min(220, f.width), loading: "lazy" });
      authedBlob(f.thumbnail_url).then(function (url) { img.src = url; }).catch(function () {});
      box.appendChild(h("button", { type: "button", "aria-label": label, onclick: function () { download(f); } }, [img]));
    } else {
      box.appendChild(h("button", { type: "button", "aria-label": label, onclick: function () { download(f); } },
        [icon(CLIP), document.createTextNode(" " + f.name + " (" + size(f.size) + ")")]));
    }
  }

  function attach(file) {
    if (!canAttach()) return;
    var u = { id: newId(), file: file };
    u.bar = h("progress", { max: "100", value: "0", "aria-label": t("file.uploading", { name: file.name }) });
    u.el = bubble("player", t("chat.you"), file.name + " (" + size(file.size) + ")", Date.now());
    u.el.querySelector(".text").appendChild(u.bar);
    u.status = u.el.querySelector(".meta");
    u.status.textContent = t("file.uploading", { name: "" });
    st.uploads[u.id] = u;
    ui.log.appendChild(u.el);
    scrollDown();
    upload(u);
  }

  function upload(u) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", server + "/api/chats/" + encodeURIComponent(st.chat) + "/files");
    xhr.setRequestHeader("Authorization", "Session " + st.session);
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) u.bar.value = Math.round(ev.loaded * 100 / ev.total);
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 200 || xhr.status === 201) {
        u.bar.value = 100;
        u.status.textContent = t("chat.sent");
        return; // the message itself arrives on the socket and takes this bubble's place
      }
      uploadFailed(u, body.error);
    };
    xhr.onerror = function () { uploadFailed(u, null); };
    var form = new FormData();
    form.append("id", u.id);
    form.append("file", u.file, u.file.name);
    xhr.send(form);
  }

  function uploadFailed(u, err) {
    u.el.classList.add("failed");
    u.bar.hidden = true;
    var why = err && T["error." + err.code] ? t("error." + err.code) : t("chat.failed");
    u.status.textContent = why + " · ";
    u.status.appendChild(h("button", { type: "button", text: t("chat.retry"), onclick: function () {
      u.el.classList.remove("failed");
      u.bar.hidden = false;
      u.bar.value = 0;
      u.status.textContent = t("file.uploading", { name: "" });
      upload(u);
    } }));
  }

  // -- actions --

  function sendMessage() {
    var text = ui.input.value;
    if (!text.trim()) return;
    var p = { id: newId(), text: text };
    st.pending.push(p);
    store();
    ui.input.value = "";
    trySend(p);
    if (st.state === "queued") suggestWhileWaiting(text);
    if (st.typingSentAt) { send({ type: "typing", active: false }); st.typingSentAt = 0; }
  }

  function typing() {
    if (st.state !== "active") return;
    var now = Date.now();
    if (now - st.typingSentAt > 3000) { send({ type: "typing", active: true }); st.typingSentAt = now; }
    clearTimeout(st.timers.typingOff);
    st.timers.typingOff = setTimeout(function () {
      if (st.typingSentAt) { send({ type: "typing", active: false }); st.typingSentAt = 0; }
    }, 4000);
  }

  function clearErrors(form) {
    Object.keys(form).forEach(function (k) {
      var f = form[k];
      if (f && f.error) { f.error.hidden = true; f.error.textContent = ""; f.input.removeAttribute("aria-invalid"); }
    });
  }

  function fieldError(form, err) {
    var f = form[err.field] || (err.field === "text" && form.text) || null;
    var text = T["error." + err.code] ? t("error." + err.code) : err.message || t("error.generic");
    if (!f) f = form.name || form.email;
    f.error.textContent = text;
    f.error.hidden = false;
    f.input.setAttribute("aria-invalid", "true");
    f.input.focus();
  }

  function value(f) {
    var v = f.input.value.trim();
    return v === "" ? null : v;
  }

  function submitPrechat() {
    var q = ui.pre.question.input.value.trim();
    clearErrors(ui.pre);
    if (q && !st.suggested) { st.suggested = true; ui.pre.submit.disabled = true; suggest(q); return; }
    startChat();
  }

  // -- answers before an agent: articles of the knowledge base for the player's question --

  function kbSearch(q, limit) {
    var topic = ui.pre.topic.input.value;
    var url = server + "/api/kb/search?limit=" + limit + "&locale=" + encodeURIComponent(locale) +
      "&q=" + encodeURIComponent(q.slice(0, 500)) + (topic ? "&topic=" + encodeURIComponent(topic) : "");
    return fetch(url).then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (body) { return body.results || []; });
  }

  function kbOutcome(outcome, article) {
    var topic = ui.pre.topic.input.value || null;
    fetch(server + "/api/kb/outcome", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ outcome: outcome, topic: topic, locale: locale, article: article || null })
    }).catch(function () {});
  }

  function suggest(q) {
    kbSearch(q, 3).then(function (results) {
      ui.pre.submit.disabled = false;
      if (!results.length) return startChat();
      ui.sugList.textContent = "";
      results.forEach(function (r) { ui.sugList.appendChild(suggestion(r)); });
      st.kbView = "suggest";
      show("suggest");
      focusView();
    }).catch(function () { ui.pre.submit.disabled = false; startChat(); });
  }

  // one suggested article: its title opens it here, with "this answered my question"
  function suggestion(r) {
    var body = h("div", { class: "article", hidden: true });
    var yes = h("button", { type: "button", class: "primary", text: t("suggest.answered"), hidden: true, onclick: function () {
      kbOutcome("self_served", r.id);
      st.kbView = "served";
      show("served");
      focusView();
    } });
    var open = h("button", { type: "button", class: "link title", text: r.title, "aria-expanded": "false", onclick: function () {
      var opening = body.hidden;
      body.hidden = !opening;
      yes.hidden = !opening;
      open.setAttribute("aria-expanded", String(opening));
      if (opening && !body.firstChild) {
        body.textContent = t("connecting");
        fetch(server + "/api/kb/articles/" + encodeURIComponent(r.id)).then(function (x) { return x.json(); }).then(function (a) {
          // sanitized by the server (markdown-it + nh3): a fixed set of tags, no scripts or styles
          body.innerHTML = a.html || "";
          body.querySelectorAll("a").forEach(function (link) { link.target = "_blank"; link.rel = "noopener noreferrer"; });
        }).catch(function () { body.textContent = r.snippet; });
      }
    } });
    return h("li", null, [open, h("p", { class: "hint", text: r.snippet }), body, yes]);
  }

  function buildSuggest() {
    ui.sugList = h("ul", { class: "suggestions" });
    return h("div", { class: "view", hidden: true }, [
      h("p", { class: "intro", text: t("suggest.intro") }), ui.sugList,
      h("button", { type: "button", class: "secondary wide", text: t("suggest.need_agent"), onclick: function () {
        kbOutcome("needed_agent", null);
        startChat();
      } })
    ]);
  }

  function buildServed() {
    return h("div", { class: "view", hidden: true }, [
      h("p", { class: "ok", tabindex: "-1", text: t("suggest.served") }),
      h("button", { type: "button", class: "secondary wide", text: t("suggest.again"), onclick: function () {
        ui.pre.question.input.value = "";
        st.suggested = false;
        st.kbView = null;
        show(viewFor(st.state));
        focusView();
      } })
    ]);
  }

  // -- "Follow a request": its status, history and messages; writing on it opens a live chat
  // on the same request when its team is free, else it is kept for them

  function openView(name) {
    st.kbView = name;
    show(viewFor(st.state));
    focusView();
  }

  function followLink() {
    return h("button", { type: "button", class: "link help", text: t("follow.link"), onclick: openFollow });
  }

  // a member the site vouches for (identify) sees their own requests first
  function openFollow() {
    openView("follow");
    if (identity) send({ type: "my_requests", identity: identity });
  }

  function showMine(list) {
    var f = ui.fol;
    f.mine.textContent = "";
    f.mine.hidden = !list.length || !f.writer.hidden; // (not while a request is shown)
    list.forEach(function (r) {
      f.mine.appendChild(h("li", null, [h("button", { type: "button", class: "link", text: r.number + " · " + t("status." + r.status) + " · " + when(Date.parse(r.created_at)), onclick: function () {
        st.follow = { number: r.number, identity: identity };
        send({ type: "look_up", number: r.number, identity: identity });
      } })]));
    });
  }

  function asked(m) { // which request a frame or upload is about
    if (st.follow.link) m.link = st.follow.link;
    else if (st.follow.identity) { m.number = st.follow.number; m.identity = st.follow.identity; }
    else { m.number = st.follow.number; m.contact = st.follow.contact; }
    return m;
  }

  function buildFollow() {
    var f = ui.fol = {
      number: field("number", "text", t("follow.number"), { form: "fol", max: 40 }),
      contact: field("contact", "text", t("follow.contact"), { form: "fol", autocomplete: "email", max: 254 }),
      text: field("text", "textarea", t("follow.write"), { form: "fol" })
    };
    f.text.input.rows = 3;
    f.submit = h("button", { class: "primary", type: "submit", text: t("follow.look") });
    f.form = h("form", { novalidate: true, onsubmit: function (ev) { ev.preventDefault(); lookUp(); } },
      [h("h3", { text: t("follow.link") }), f.number.wrap, f.contact.wrap, f.submit]);
    f.result = h("div", { class: "req", tabindex: "-1" });
    f.mine = h("ul", { class: "suggestions small", hidden: true, "aria-label": t("follow.mine") });
    f.send = h("button", { class: "primary", type: "button", text: t("chat.send"), onclick: followUp });
    f.file = h("input", { type: "file", id: "cs-fol-file", hidden: true, accept: "image/*,application/pdf,text/plain",
      onchange: function () { if (f.file.files[0]) followFile(f.file.files[0]); f.file.value = ""; } });
    f.attach = h("button", { type: "button", class: "icon", "aria-label": t("file.attach"), title: t("file.attach"),
      onclick: function () { f.file.click(); } }, [icon(CLIP)]);
    f.writer = h("div", { hidden: true }, [f.text.wrap, h("div", { class: "row" }, [f.send, f.attach, f.file])]);
    f.status = h("p", { class: "intro", role: "status", "aria-live": "polite" });
    var back = h("button", { type: "button", class: "link help", text: t("follow.back"), onclick: function () {
      f.form.hidden = false;
      f.result.textContent = "";
      f.writer.hidden = true;
      f.status.textContent = "";
      openView(null);
    } });
    return h("div", { class: "view", hidden: true }, [f.mine, f.form, f.result, f.writer, f.status, back]);
  }

  function lookUp() {
    var f = ui.fol;
    clearErrors(f);
    f.status.textContent = "";
    var number = f.number.input.value.trim(), contact = f.contact.input.value.trim();
    if (!number) return fieldError(f, { field: "number", message: t("follow.need_number") });
    if (!contact) return fieldError(f, { field: "contact", message: t("follow.need_contact") });
    st.follow = { number: number, contact: contact };
    f.submit.disabled = true;
    send({ type: "look_up", number: number, contact: contact });
  }

  function when(ms) {
    return new Date(ms).toLocaleString(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  // the request as the server shows it to its player (a ``request`` frame)
  function showRequest(r) {
    var f = ui.fol;
    st.follow.shown = r.number;
    f.submit.disabled = false;
    f.send.disabled = false;
    f.form.hidden = true;
    f.mine.hidden = true;
    f.writer.hidden = false;
    f.result.textContent = "";
    var said = r.transcript.map(function (m) {
      return { from: m.from, who: m.from === "player" ? t("chat.you") : (m.name || t("chat.agent")), text: m.file ? t("follow.file", { name: m.file }) : m.text, at: m.ts };
    }).concat(r.messages.map(function (m) {
      var text = m.file ? (m.text ? m.text + " · " : "") + t("follow.file", { name: m.file.name }) : m.text;
      return { from: m.from, who: m.from === "player" ? t("chat.you") : (m.name || t("chat.agent")), text: text, at: Date.parse(m.at) };
    })).sort(function (a, b) { return a.at - b.at; });
    var log = h("div", { class: "log", role: "log", tabindex: "0", "aria-label": t("follow.messages") }, said.map(function (m) {
      var el = bubble(m.from, m.who, m.text, 0);
      el.querySelector(".meta").textContent = when(m.at);
      return el;
    }));
    f.result.appendChild(h("p", { class: "intro" }, [h("strong", { class: "rnum", text: r.number }), document.createTextNode(" · " + t("status." + r.status))]));
    f.result.appendChild(h("ol", { class: "timeline", "aria-label": t("follow.history") }, r.history.map(function (e) {
      return h("li", { text: t("status." + e.status) + " · " + when(Date.parse(e.at)) });
    })));
    f.result.appendChild(log);
    log.scrollTop = log.scrollHeight;
  }

  function followUp() {
    var f = ui.fol, text = f.text.input.value.trim();
    clearErrors(f);
    if (!text) return fieldError(f, { field: "text", message: t("error.empty_message") });
    f.send.disabled = true;
    st.followId = st.followId || newId();
    send(asked({ type: "follow_up", id: st.followId, text: text }));
  }

  // a file on the request (with what is typed as its text), over HTTP like chat uploads
  function followFile(file) {
    var f = ui.fol, body = new FormData(), which = asked({});
    Object.keys(which).forEach(function (k) { body.append(k, which[k]); });
    body.append("text", f.text.input.value.trim());
    body.append("file", file, file.name);
    f.status.textContent = t("file.uploading", { name: file.name });
    f.attach.disabled = true;
    fetch(server + "/api/requests/followup/files", { method: "POST", body: body }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    }).then(function (res) {
      f.attach.disabled = false;
      if (!res.ok) {
        var code = res.body.error && res.body.error.code;
        f.status.textContent = T["error." + code] ? t("error." + code) : t("error.generic");
        return;
      }
      f.text.input.value = "";
      f.status.textContent = t("follow.kept");
      send(asked({ type: "look_up" }));
    }).catch(function () {
      f.attach.disabled = false;
      f.status.textContent = t("error.generic");
    });
  }

  // where the player's words went (a ``following`` frame)
  function following(fr) {
    var f = ui.fol;
    st.followId = null;
    f.text.input.value = "";
    f.send.disabled = false;
    if (!fr.live) {
      f.status.textContent = t("follow.kept");
      return;
    }
    st.kbView = null;
    f.form.hidden = false;
    f.result.textContent = "";
    f.writer.hidden = true;
    ui.log.textContent = "";
    st.shown = {};
    st.lastSeq = 0;
    st.chat = fr.chat;
    setState("queued");
    if (st.open) focusView();
  }

  // while the player waits, articles follow their latest message
  function suggestWhileWaiting(text) {
    kbSearch(text, 3).then(function (results) {
      if (st.state !== "queued") return;
      ui.waitList.textContent = "";
      results.forEach(function (r) {
        ui.waitList.appendChild(h("li", null, [h("a", { href: r.url, target: "_blank", rel: "noopener noreferrer", text: r.title })]));
      });
      ui.waitBox.hidden = !results.length;
    }).catch(function () {});
  }

  function startChat() {
    var f = ui.pre;
    st.kbView = null;
    show(viewFor(st.state));
    clearErrors(f);
    f.submit.disabled = true;
    // the question they typed is the chat's first message once the chat is queued
    st.question = f.question.input.value.trim() || null;
    var frame = {
      type: "prechat", name: value(f.name), username: value(f.username), email: value(f.email),
      topic: f.topic.input.value, age_confirmed: f.age_confirmed.input.checked
    };
    if (value(f.phone)) frame.phone = value(f.phone);
    if (identity) frame.identity = identity;
    if (!send(frame)) f.submit.disabled = false; // offline: the banner says we are reconnecting
  }

  function submitOffline() {
    var f = ui.off;
    clearErrors(f);
    f.submit.disabled = true;
    st.lastLeave = st.lastLeave || newId();
    var frame = {
      type: "leave_message", id: st.lastLeave, name: value(f.name), email: f.email.input.value.trim(),
      topic: f.topic.input.value, text: f.text.input.value, age_confirmed: f.age_confirmed.input.checked
    };
    if (identity) frame.identity = identity;
    var sent = send(frame);
    if (!sent) f.submit.disabled = false;
  }

  function submitRating() {
    var resolved = ui.rateForm.querySelector("input[name=resolved]:checked");
    var rating = ui.rateForm.querySelector("input[name=rating]:checked");
    if (!resolved || !rating) {
      ui.rateErr.textContent = t("ended.rate_missing");
      ui.rateErr.hidden = false;
      return;
    }
    ui.rateErr.hidden = true;
    var nps = ui.rateForm.querySelector("input[name=nps]:checked");
    var frame = { type: "rate", resolved: resolved.value === "yes", rating: Number(rating.value), comment: ui.comment.value.trim() || null };
    if (nps) frame.nps = Number(nps.value);
    send(frame);
  }

  function copyNumber() {
    var number = ui.number.textContent;
    function done() { ui.copy.textContent = t("ended.copied"); setTimeout(function () { ui.copy.textContent = t("ended.copy"); }, 2000); }
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(number).then(done, function () {});
  }

  function confirmEnd() {
    ui.dialogText.textContent = st.state === "queued" ? t("confirm.leave") : t("confirm.end");
    ui.dialog.hidden = false;
    ui.dialogNo.focus();
  }

  function closeDialog() {
    ui.dialog.hidden = true;
  }

  function newChat() {
    ui.log.textContent = "";
    st.shown = {};
    st.lastSeq = 0;
    st.pending = [];
    st.ended = null;
    st.lastLeave = null;
    st.agent = null;
    st.kbView = null;
    st.suggested = false;
    st.question = null;
    ui.pre.question.input.value = "";
    ui.waitBox.hidden = true;
    ui.rateForm.reset();
    lightStars();
    ui.transcript.hidden = true;
    ui.rateForm.hidden = false;
    ui.thanks.hidden = true;
    ui.emailBtn.disabled = false;
    ui.emailStatus.textContent = "";
    // keep who they are; the old message and errors go
    ui.off.text.input.value = "";
    clearErrors(ui.pre);
    clearErrors(ui.off);
    ui.pre.submit.disabled = false;
    ui.off.submit.disabled = false;
    setState("prechat");
    focusView();
  }

  function ended(f) {
    st.ended = f;
    st.pending = [];
    keepTranscript();
    ui.number.textContent = f.request_number;
    var offline = f.reason === "offline_message";
    ui.endTitle.textContent = offline ? t("ended.offline_title") : t("ended.title");
    ui.rateForm.hidden = offline;
    ui.typing.textContent = "";
    closeDialog();
    setState("ended");
    if (st.open) focusView();
    emit("ended", { requestNumber: f.request_number, by: f.by });
  }

  // -- the connection --

  function send(frame) {
    if (st.ws && st.connected) {
      st.ws.send(JSON.stringify(frame));
      return true;
    }
    return false; // own messages stay pending and are resent after the reconnect
  }

  function connect() {
    clearTimeout(st.timers.reconnect);
    var ws;
    try {
      ws = new WebSocket(wsUrl);
    } catch (e) {
      return scheduleReconnect();
    }
    st.ws = ws;
    ws.onopen = function () {
      st.connected = true;
      var hello = { type: "hello", v: 1, last_seq: st.lastSeq, locale: locale };
      if (st.session) hello.resume = st.session;
      ws.send(JSON.stringify(hello));
      heartbeat();
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (st.serverPings) watchdog();
      handle(f);
    };
    ws.onclose = function (ev) {
      if (st.ws !== ws) return;
      st.ws = null;
      st.connected = false;
      clearInterval(st.timers.ping);
      clearTimeout(st.timers.pong);
      ui.conn.textContent = t("reconnecting");
      ui.conn.hidden = false;
      emit("connection", { online: false });
      scheduleReconnect(ev.code);
    };
  }

  function scheduleReconnect(code) {
    // back off 0.5 s, 1 s, 2 s ... up to 30 s, with jitter so a restarted server is not stampeded
    var base = code === 1008 ? 30 : Math.min(30, 0.5 * Math.pow(2, st.retry));
    st.retry++;
    st.timers.reconnect = setTimeout(connect, base * (0.5 + Math.random() / 2) * 1000);
  }

  // Until welcome says the server pings (ping_seconds), the widget pings and waits for pong.
  function heartbeat() {
    st.serverPings = 0;
    clearInterval(st.timers.ping);
    st.timers.ping = setInterval(function () {
      if (!send({ type: "ping" })) return;
      clearTimeout(st.timers.pong);
      st.timers.pong = setTimeout(function () { if (st.ws) st.ws.close(); }, 10000);
    }, 20000 + Math.random() * 8000);
  }

  // The server pings: answer each, and reconnect when nothing came for two and a half intervals.
  function serverPings(seconds) {
    clearInterval(st.timers.ping);
    st.serverPings = seconds * 1000;
    watchdog();
  }

  function watchdog() {
    clearTimeout(st.timers.pong);
    st.timers.pong = setTimeout(function () { if (st.ws) st.ws.close(); }, 2.5 * st.serverPings);
  }

  function handle(f) {
    switch (f.type) {
      case "welcome":
        st.retry = 0;
        if (f.ping_seconds) serverPings(f.ping_seconds);
        ui.conn.hidden = true;
        st.session = f.session;
        st.available = f.available !== false;
        st.email = f.email === true;
        ui.emailRow.hidden = !st.email;
        st.chat = f.chat || null;
        if (f.agent) st.agent = f.agent.name;
        if (!f.resumed) { ui.log.textContent = ""; st.shown = {}; st.lastSeq = 0; }
        emit("connection", { online: true });
        if (f.state === "ended" && f.request_number) {
          if (!st.ended || st.ended.request_number !== f.request_number) {
            ended({ request_number: f.request_number, by: null, reason: null });
          } else setState("ended");
        } else {
          setState(f.state);
        }
        // whatever has no ack yet goes again, with the same id: the server never doubles it
        if (f.state === "queued" || f.state === "active") st.pending.forEach(trySend);
        else if (f.state === "prechat" && !f.resumed) st.pending = [];
        if (linked && f.state === "prechat") {
          st.follow = { link: linked };
          openView("follow");
          send({ type: "look_up", link: linked });
        }
        linked = null;
        if (st.open) focusView();
        emit("ready", { state: f.state });
        break;
      case "queued":
        st.chat = f.chat;
        ui.pre.submit.disabled = false;
        if (st.question) {
          var first = { id: newId(), text: st.question };
          st.question = null;
          st.kbView = null;
          st.suggested = false;
          ui.pre.question.input.value = "";
          st.pending.push(first);
          store();
          trySend(first);
        }
        if (st.state !== "queued") { setState("queued"); if (st.open) focusView(); }
        showQueue(f);
        emit("queued", { position: f.position, eta: f.eta_seconds });
        break;
      case "assigned":
        st.chat = f.chat;
        st.agent = f.agent.name;
        ui.pre.submit.disabled = false;
        var was = st.state;
        setState("active");
        if (was !== "queued" && was !== "active" && st.open) focusView();
        emit("assigned", { agent: f.agent.name });
        break;
      case "message":
        addMessage(f);
        store();
        break;
      case "ack":
        for (var i = 0; i < st.pending.length; i++) {
          if (st.pending[i].id === f.id) { acked(st.pending[i], f.seq); break; }
        }
        break;
      case "typing":
        clearTimeout(st.timers.typing);
        ui.typing.textContent = f.active ? t("chat.typing", { name: st.agent || t("chat.agent") }) : "";
        if (f.active) st.timers.typing = setTimeout(function () { ui.typing.textContent = ""; }, 6000);
        break;
      case "ended":
        ended(f);
        break;
      case "request":
        if (st.kbView === "follow") showRequest(f); // (not one that comes after a chat opened)
        break;
      case "requests":
        showMine(f.requests);
        break;
      case "request_changed": // a reply or a status on the request being shown: fetch it again
        if (st.kbView === "follow" && st.follow && st.follow.shown === f.request_number) send(asked({ type: "look_up" }));
        break;
      case "following":
        following(f);
        break;
      case "emailed":
        ui.emailStatus.textContent = t("ended.emailed", { to: f.to });
        break;
      case "rated":
        ui.rateForm.hidden = true;
        ui.thanks.hidden = false;
        ui.thanks.setAttribute("tabindex", "-1");
        ui.thanks.focus();
        emit("rated", { rating: f.rating, resolved: f.resolved });
        break;
      case "availability":
        availability(f.available);
        break;
      case "pong":
        if (!st.serverPings) clearTimeout(st.timers.pong);
        break;
      case "ping":
        send({ type: "pong" });
        break;
      case "error":
        onError(f);
        break;
    }
  }

  // Switch between the pre-chat form and the offline form, carrying over what was typed.
  function availability(available) {
    if (available === st.available) return;
    if (available && ui.off.text.input.value.trim()) return; // they are writing a message: let them
    var from = available ? ui.off : ui.pre, to = available ? ui.pre : ui.off;
    ["name", "email", "topic"].forEach(function (k) { to[k].input.value = from[k].input.value; });
    to.age_confirmed.input.checked = from.age_confirmed.input.checked;
    st.available = available;
    if (st.state === "prechat") {
      var focused = root.activeElement;
      show(viewFor("prechat"));
      if (st.open && focused) focusView();
    }
    emit("availability", { available: available });
  }

  function onError(err) {
    ui.pre.submit.disabled = false;
    ui.off.submit.disabled = false;
    if (st.kbView === "follow") {
      ui.fol.submit.disabled = ui.fol.send.disabled = false;
      if (err.code === "link_expired") ui.fol.form.hidden = false; // then by number and contact
      ui.fol.status.textContent = T["error." + err.code] ? t("error." + err.code) : err.message;
      return;
    }
    if (err.code === "service_offline") {
      var why = t("offline.intro");
      if (err.reason === "closed") {
        why = err.opens_at ? t("offline.closed", { time: new Date(err.opens_at).toLocaleString(locale, { weekday: "long", hour: "2-digit", minute: "2-digit" }) }) : t("offline.closed_now");
      } else if (err.reason === "queue_full") {
        why = t("offline.queue_full");
      }
      ui.offReason.textContent = why;
      if (st.available) availability(false);
      else show(viewFor(st.state));
      focusView();
      return;
    }
    var mine = null;
    for (var i = 0; i < st.pending.length; i++) if (err.id && st.pending[i].id === err.id) mine = st.pending[i];
    if (mine) {
      if (err.code === "rate_limited") {
        setTimeout(function () { trySend(mine); }, err.retry_after_ms || 1000);
        return;
      }
      failed(mine);
      return;
    }
    if (/^email_/.test(err.code) || (st.state === "ended" && err.code === "rate_limited")) {
      ui.emailBtn.disabled = false;
      ui.emailStatus.textContent = T["error." + err.code] ? t("error." + err.code) : err.message;
      return;
    }
    if (st.state === "prechat") fieldError(st.available ? ui.pre : ui.off, err);
    else if (st.state === "ended" && !ui.rateForm.hidden) {
      ui.rateErr.textContent = t("error.generic");
      ui.rateErr.hidden = false;
    }
  }

  function loadTopics() {
    fetch(server + "/api/topics").then(function (r) { return r.json(); }).then(function (body) {
      st.topics = body.topics || [];
      fillTopics(ui.pre.topic.input);
      fillTopics(ui.off.topic.input);
      prechatRules();
    }).catch(function () {});
  }

  // -- start --

  function start() {
    fetch(server + "/widget/i18n/" + locale + ".json").then(function (r) { return r.json(); }).then(function (catalog) {
      T = catalog;
      build();
      loadTopics();
      // pending messages from before a reload are drawn now, resent once connected
      st.pending.forEach(function (p) { ownBubble(p); });
      if (linked) st.open = true;
      if (saved.live || st.open) connect();
      if (st.open) setOpen(true);
      badge();
    }).catch(function () { /* the server is unreachable: show nothing rather than a broken button */ });
  }

  window.ChatWidget = {
    version: VERSION,
    open: function () { if (ui.panel) setOpen(true); },
    close: function () { if (ui.panel) setOpen(false); },
    toggle: function () { if (ui.panel) setOpen(!st.open); },
    identify: function (token) { identity = token || null; },
    get state() { return st.state; },
    get requestNumber() { return st.ended ? st.ended.request_number : null; }
  };
  window.addEventListener("online", function () { if (!st.ws && (st.open || saved.live)) connect(); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
