// Shared by the console's pages: build elements with text only (never HTML), and make
// http(s) links in player text clickable.
(function () {
  "use strict";
  function h(tag, props, kids) {
    var el = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      var v = props[k];
      if (v == null || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach(function (c) { if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  }

  var URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
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

  // the page's language and its catalog (English text -> translation; web/i18n.py), which
  // the server put in the page; English needs none
  var catalog = {};
  try { catalog = JSON.parse(document.getElementById("i18n").textContent) || {}; } catch (e) { /* none */ }
  function t(text, vars) {
    var s = Object.prototype.hasOwnProperty.call(catalog, text) ? catalog[text] : text;
    return vars ? s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k] == null ? "" : vars[k]; }) : s;
  }

  window.csDom = { h: h, linkify: linkify, t: t, lang: document.documentElement.lang || "en" };
})();
