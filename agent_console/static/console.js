// chatserver agent console: the workspace. Plain JS over /ws/agent (the sign-in cookie
// authenticates the socket). Player text is only ever inserted as text.
(function () {
  "use strict";
  var boot = JSON.parse(document.getElementById("boot").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var me = boot.agent;

  var chats = new Map(); // id -> chat
  var order = []; // chat ids, oldest first
  var current = null;
  var ws = null, connected = false, retry = 0, pingTimer = null;
  var serverPings = 0, quietTimer = null; // the server pings every serverPings ms (welcome)
  var statusWanted = localStorage.getItem("cs-status") || "online";
  var typingSent = 0, typingOff = null;

  var h = window.csDom.h, linkify = window.csDom.linkify, T = window.csDom.t, LANG = window.csDom.lang;

  function clock(ts) { return ts ? new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : ""; }
  function minutes(ms) {
    if (ms == null || ms < 0) return "–";
    var s = Math.round(ms / 1000);
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
  }
  function newId() { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); }
  function toast(text) {
    var t = h("div", { class: "toast", role: "alert", text: text });
    document.body.appendChild(t);
    setTimeout(function () { t.remove(); }, 4000);
  }

  // -- alerts: sound, title badge, desktop notifications --

  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.15);
    } catch (e) { /* no audio */ }
  }
  function alertAgent(title, body) {
    beep();
    if (document.hidden && window.Notification && Notification.permission === "granted") {
      try { new Notification(title, { body: body }); } catch (e) { /* ignore */ }
    }
  }
  if (window.Notification && Notification.permission === "default") {
    $("notify").hidden = false;
    $("notify").onclick = function () { Notification.requestPermission().then(function () { $("notify").hidden = true; }); };
  }
  function titleBadge() {
    var n = 0;
    chats.forEach(function (c) { n += c.unread; });
    document.title = (n ? "(" + n + ") " : "") + T("Chats") + " · chatserver";
  }

  // -- chat model --

  function chatFrom(summary) {
    var c = chats.get(summary.chat);
    if (!c) {
      c = { id: summary.chat, messages: new Map(), notes: new Map(), pending: new Map(), unread: 0, ended: null, typing: false };
      chats.set(c.id, c);
      order.push(c.id);
    }
    c.player = summary.player;
    c.state = summary.state;
    c.department = summary.department;
    c.queuedAt = summary.queued_at;
    c.assignedAt = summary.assigned_at;
    c.continues = summary.continues || null; // a later chat on an earlier request
    (summary.history || []).forEach(function (m) { c.messages.set(m.seq, m); });
    (summary.notes || []).forEach(function (n) { c.notes.set(n.id + ":" + n.agent.id, n); });
    c.lastSeq = Math.max(c.lastSeq || 0, summary.last_seq || 0);
    return c;
  }

  function playerName(c) { return c.player.name || c.player.username || c.player.email || "Player"; }

  // -- rendering --

  function renderList() {
    var ul = $("chats");
    ul.textContent = "";
    $("no-chats").hidden = order.length > 0;
    order.forEach(function (id) {
      var c = chats.get(id);
      var btn = h("button", {
        type: "button", "aria-current": id === current ? "true" : "false",
        onclick: function () { select(id); }
      }, [
        c.unread ? h("span", { class: "unread", text: String(c.unread), "aria-label": T("{n} unread", { n: c.unread }) }) : null,
        h("div", { class: "name", text: playerName(c) }),
        h("div", { class: "sub", text: c.ended ? T("ended") + " · " + c.ended : topicName(c.player.topic) })
      ]);
      ul.appendChild(h("li", { class: c.ended ? "ended" : "" }, [btn]));
    });
    titleBadge();
  }

  // system lines in the console's language (the server's own text is English)
  var EVENTS = {
    agent_joined: "{name} joined the chat.",
    agent_left: "{name} left the chat; it went back to the front of the queue.",
    no_answer: "{name} did not answer in time; the chat went back to the queue.",
    requeued: "{name} put the chat back in the queue.",
    handed_off: "{name} (a bot) handed the chat to the team; its note says why.",
    transferred: "The chat was transferred to {name}.",
    idle_warning: "The player was asked whether they are still there.",
    chat_ended: "The chat has ended.",
    offline_message: "Message left while no agent was online."
  };

  function entryEl(e) {
    var cls = e.kind === "note" ? "note" : e.from;
    var who = e.kind === "note" ? T("Internal note") + " · " + e.agent.name : (e.from === "agent" ? (e.name || T("Agent")) : e.from === "player" ? T("Player") : "");
    var text = h("div");
    if (e.file) fileView(text, e.file);
    else linkify(text, e.from === "system" && EVENTS[e.event] ? T(EVENTS[e.event], { name: e.name || "" }) : e.text);
    var meta = h("div", { class: "meta", text: (who ? who + " · " : "") + clock(e.ts) + (e.status ? " · " + T(e.status) : "") });
    return h("div", { class: "msg " + cls + (e.failed ? " failed" : ""), "data-seq": e.seq || "" }, [text, meta]);
  }

  function fileView(box, f) {
    var label = f.name + " (" + Math.max(1, Math.round(f.size / 1024)) + " KB)";
    if (f.thumbnail_url) {
      box.appendChild(h("a", { href: f.url, title: T("Download {file}", { file: label }) }, [
        h("img", { src: f.thumbnail_url, alt: f.name, class: "thumb" })
      ]));
    }
    box.appendChild(h("a", { href: f.url, text: T("Download {file}", { file: label }) }));
  }

  // -- attachments: button, drag and drop, paste; the message arrives on the socket --

  function attach(file) {
    var c = current && chats.get(current);
    if (!c || c.ended) return;
    var xhr = new XMLHttpRequest();
    var line = $("upload");
    xhr.open("POST", "/api/chats/" + encodeURIComponent(c.id) + "/files");
    xhr.setRequestHeader("X-CSRF-Token", boot.csrf);
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) line.textContent = T("Uploading {file}: {percent}%", { file: file.name, percent: Math.round(ev.loaded * 100 / ev.total) });
    };
    xhr.onload = function () {
      line.textContent = "";
      if (xhr.status !== 200 && xhr.status !== 201) {
        var err = {};
        try { err = JSON.parse(xhr.responseText).error || {}; } catch (e) { /* not JSON */ }
        toast(file.name + ": " + (err.message || T("upload failed")));
      }
    };
    xhr.onerror = function () { line.textContent = ""; toast(file.name + ": " + T("upload failed")); };
    var form = new FormData();
    form.append("id", newId());
    form.append("file", file, file.name);
    line.textContent = T("Uploading {file}…", { file: file.name });
    xhr.send(form);
  }

  $("attach").onclick = function () { $("file").click(); };
  $("file").onchange = function () { Array.prototype.forEach.call($("file").files, attach); $("file").value = ""; };
  $("text").addEventListener("paste", function (ev) {
    var files = ev.clipboardData && ev.clipboardData.files;
    if (files && files.length) { ev.preventDefault(); Array.prototype.forEach.call(files, attach); }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    $("log").addEventListener(name, function (ev) { if (current) { ev.preventDefault(); $("log").classList.add("drop"); } });
  });
  $("log").addEventListener("dragleave", function () { $("log").classList.remove("drop"); });
  $("log").addEventListener("drop", function (ev) {
    $("log").classList.remove("drop");
    if (!ev.dataTransfer) return;
    ev.preventDefault();
    Array.prototype.forEach.call(ev.dataTransfer.files, attach);
  });

  // messages by seq; each note right after the message it followed; unacked at the end
  function entries(c) {
    var list = [];
    c.messages.forEach(function (m) { list.push({ key: [m.seq, 0, m.ts], e: Object.assign({ kind: "message" }, m) }); });
    c.notes.forEach(function (n) { list.push({ key: [n.after_seq, 1, n.ts], e: Object.assign({ kind: "note" }, n) }); });
    c.pending.forEach(function (p) {
      list.push({ key: [Infinity, 2, p.ts], e: { kind: p.note ? "note" : "message", from: "agent", name: me.name, agent: me, text: p.text, ts: p.ts, status: p.failed ? "not sent" : "sending…", failed: p.failed } });
    });
    list.sort(function (a, b) { return a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]; });
    return list.map(function (x) { return x.e; });
  }

  // the routing file's names for its ids, in the console's language (English until the
  // console has catalogs), else the id
  function named(table, id) {
    var labels = (table || {})[id] || {};
    return labels[LANG] || labels.en || labels.tr || id || "";
  }
  function topicName(id) { return named(boot.topics, id); }
  function departmentName(id) { return named(boot.departments, id); }

  function renderChat() {
    var c = current && chats.get(current);
    $("bar").hidden = $("card").hidden = $("composer").hidden = $("log").hidden = !c;
    $("pick").hidden = !!c;
    $("log").textContent = "";
    $("ended-banner").hidden = true;
    if (!c) return;
    $("chat-title").textContent = playerName(c) + " · " + topicName(c.player.topic) + " · " + departmentName(c.department);
    entries(c).forEach(function (e) { $("log").appendChild(entryEl(e)); });
    $("log").scrollTop = $("log").scrollHeight;
    var over = !!c.ended;
    $("end").hidden = $("transfer").hidden = over;
    $("close-chat").hidden = !over;
    $("text").disabled = $("send").disabled = $("attach").disabled = over;
    if (over) {
      $("ended-banner").hidden = false;
      $("ended-banner").textContent = c.endedText;
      $("log").scrollTop = $("log").scrollHeight; // the "… ended the chat" line stays in view
    }
    $("typing").textContent = c.typing ? T("{name} is typing…", { name: playerName(c) }) : "";
    renderCard(c);
  }

  function renderCard(c) {
    $("p-name").textContent = c.player.name || "–";
    $("p-username").textContent = c.player.username || "–";
    $("p-email").textContent = c.player.email || "–";
    $("p-topic").textContent = topicName(c.player.topic);
    $("p-verified").textContent = c.player.verified
      ? T("verified by {how}", { how: T(c.player.verified_by === "token" ? "site sign-in" : "account check") }) + " · " + T("member {id}", { id: c.player.member_id })
      : T("guest, not verified");
    $("p-wait").textContent = minutes(c.assignedAt - c.queuedAt);
    var cont = $("p-continues");
    cont.textContent = "";
    $("p-continues-row").hidden = !c.continues;
    if (c.continues) cont.appendChild(h("a", { href: "/console/requests/" + encodeURIComponent(c.continues), class: "mono", text: c.continues }));
    var ul = $("earlier");
    ul.textContent = "";
    if (c.earlier === undefined) loadEarlier(c);
    (c.earlier || []).forEach(function (r) {
      ul.appendChild(h("li", null, [
        h("a", { href: "/console/requests/" + encodeURIComponent(r.number), class: "mono", text: r.number }),
        " · " + r.status + " · " + r.topic + " · " + new Date(r.created_at).toLocaleDateString()
      ]));
    });
    if (c.earlier && !c.earlier.length) ul.appendChild(h("li", { text: T("None.") }));
    renderSuggestions(c);
  }

  // -- articles of the knowledge base for the player's latest message --

  function lastPlayerText(c) {
    var last = null;
    c.messages.forEach(function (m) { if (m.from === "player" && m.text && (!last || m.seq > last.seq)) last = m; });
    return last ? last.text : "";
  }

  function insertText(text) {
    var box = $("text");
    box.value = box.value ? box.value.replace(/\s*$/, "") + "\n" + text : text;
    box.focus();
  }

  function renderSuggestions(c) {
    var q = lastPlayerText(c);
    if (q && c.suggestFor !== q) {
      c.suggestFor = q;
      fetch("/console/kb/suggest?q=" + encodeURIComponent(q.slice(0, 500)), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) {
          c.suggest = body.results || [];
          if (current === c.id) renderSuggestions(c);
        }).catch(function () { c.suggest = []; });
    }
    var ul = $("kb-suggest");
    ul.textContent = "";
    (c.suggest || []).forEach(function (a) {
      ul.appendChild(h("li", null, [
        h("a", { href: a.url, target: "_blank", rel: "noopener", text: a.title }),
        h("p", { class: "hint", text: a.snippet }),
        h("button", { type: "button", class: "btn", text: T("Insert link"), onclick: function () { insertText(a.title + ": " + a.url); } }),
        " ",
        h("button", { type: "button", class: "btn", text: T("Insert excerpt"), onclick: function () { insertText(a.snippet + " " + a.url); } })
      ]));
    });
    if (!(c.suggest || []).length) ul.appendChild(h("li", { class: "hint", text: T("None.") }));
  }

  function loadEarlier(c) {
    c.earlier = null; // loading
    var queries = [];
    if (c.player.username) queries.push("username=" + encodeURIComponent(c.player.username));
    if (c.player.email) queries.push("email=" + encodeURIComponent(c.player.email));
    if (!queries.length) { c.earlier = []; return; }
    Promise.all(queries.map(function (q) {
      return fetch("/api/requests?limit=10&" + q, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { requests: [] }; });
    })).then(function (bodies) {
      var seen = {};
      c.earlier = [];
      bodies.forEach(function (b) {
        b.requests.forEach(function (r) { if (r.chat !== c.id && !seen[r.number]) { seen[r.number] = 1; c.earlier.push(r); } });
      });
      if (current === c.id) renderCard(c);
    }).catch(function () { c.earlier = []; });
  }

  function select(id) {
    current = id;
    var c = chats.get(id);
    if (c) c.unread = 0;
    renderList();
    renderChat();
    if (c && !c.ended) $("text").focus();
  }

  function step(delta) {
    if (!order.length) return;
    var i = order.indexOf(current);
    select(order[(i + delta + order.length) % order.length]);
  }

  // -- composer: messages, notes, canned responses, typing --

  var canned = boot.canned || [];
  var cannedIndex = 0;

  function cannedMatches() {
    var v = $("text").value;
    if (v.charAt(0) !== "/" || /\s/.test(v)) return [];
    var q = v.slice(1).toLowerCase();
    return canned.filter(function (c) { return c.shortcut.indexOf(q) === 0 || c.title.toLowerCase().indexOf(q) >= 0; });
  }

  function renderCanned() {
    var list = cannedMatches(), ul = $("canned");
    ul.textContent = "";
    ul.hidden = !list.length;
    cannedIndex = Math.min(cannedIndex, Math.max(list.length - 1, 0));
    list.forEach(function (c, i) {
      ul.appendChild(h("li", {
        role: "option", "aria-selected": i === cannedIndex ? "true" : "false",
        onmousedown: function (ev) { ev.preventDefault(); useCanned(c); }
      }, [h("span", { class: "short", text: "/" + c.shortcut }), c.title]));
    });
  }

  function useCanned(c) {
    $("text").value = c.text;
    $("canned").hidden = true;
    $("text").focus();
  }

  function send() {
    var c = current && chats.get(current);
    var text = $("text").value;
    if (!c || c.ended || !text.trim()) return;
    var note = $("note-mode").checked;
    var p = { id: newId(), text: text, note: note, ts: Date.now() };
    c.pending.set(p.id, p);
    $("text").value = "";
    emit(p, c);
    if (typingSent) { sendFrame({ type: "typing", chat: c.id, active: false }); typingSent = 0; }
    renderChat();
  }

  function emit(p, c) {
    sendFrame({ type: p.note ? "note" : "message", chat: c.id, id: p.id, text: p.text });
  }

  function typing() {
    var c = current && chats.get(current);
    if (!c || c.ended || $("note-mode").checked) return;
    if (Date.now() - typingSent > 3000) { sendFrame({ type: "typing", chat: c.id, active: true }); typingSent = Date.now(); }
    clearTimeout(typingOff);
    typingOff = setTimeout(function () {
      if (typingSent) { sendFrame({ type: "typing", chat: c.id, active: false }); typingSent = 0; }
    }, 4000);
  }

  $("text").addEventListener("input", function () { cannedIndex = 0; renderCanned(); typing(); });
  $("text").addEventListener("keydown", function (ev) {
    var list = cannedMatches();
    if (!$("canned").hidden && list.length) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        cannedIndex = (cannedIndex + (ev.key === "ArrowDown" ? 1 : -1) + list.length) % list.length;
        renderCanned();
        return;
      }
      if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); useCanned(list[cannedIndex]); return; }
      if (ev.key === "Escape") { $("canned").hidden = true; return; }
    }
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  $("send").onclick = send;
  $("note-mode").onchange = function () {
    $("composer").classList.toggle("note-mode", $("note-mode").checked);
    $("text").placeholder = T($("note-mode").checked ? "Internal note: the player never sees it" : "Type a message. / for canned responses");
    $("text").focus();
  };

  // -- end and transfer --

  boot.resolutions.forEach(function (r) { $("resolution").appendChild(h("option", { value: r, text: T(r.replace(/_/g, " ")) })); });
  $("end").onclick = function () { if (current) { $("end-note").value = ""; $("end-dialog").showModal(); } };
  $("end-dialog").addEventListener("close", function () {
    if ($("end-dialog").returnValue !== "end" || !current) return;
    sendFrame({ type: "end", chat: current, resolution: $("resolution").value, note: $("end-note").value.trim() || null });
  });
  $("transfer").onclick = function () { if (current) sendFrame({ type: "roster" }); };
  $("transfer-dialog").addEventListener("close", function () {
    if ($("transfer-dialog").returnValue !== "go" || !current) return;
    var to = $("transfer-to").value;
    if (to === "queue") sendFrame({ type: "transfer", chat: current });
    else if (to.indexOf("dep:") === 0) sendFrame({ type: "transfer", chat: current, department: to.slice(4) });
    else sendFrame({ type: "transfer", chat: current, to: Number(to) });
  });
  $("close-chat").onclick = function () {
    if (!current) return;
    chats.delete(current);
    order = order.filter(function (id) { return id !== current; });
    current = null;
    renderList();
    renderChat();
  };

  var departments = [];

  function showRoster(agents) {
    var sel = $("transfer-to");
    sel.textContent = "";
    sel.appendChild(h("option", { value: "queue", text: T("Back to the queue") }));
    var c = current && chats.get(current);
    departments.forEach(function (d) {
      if (c && d.id === c.department) return;
      sel.appendChild(h("option", { value: "dep:" + d.id, text: T("Queue of {department}", { department: departmentName(d.id) }) }));
    });
    agents.forEach(function (a) {
      if (a.id === me.id) return;
      var free = a.connected && a.status === "online" && a.active < a.max_chats;
      sel.appendChild(h("option", { value: String(a.id), disabled: !free, text: a.name + " (" + (free ? a.active + "/" + a.max_chats : T(a.status)) + ")" }));
    });
    $("transfer-dialog").showModal();
  }

  document.addEventListener("keydown", function (ev) {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var k = ev.key.toLowerCase();
    if (k === "arrowdown") { ev.preventDefault(); step(1); }
    else if (k === "arrowup") { ev.preventDefault(); step(-1); }
    else if (k === "e") { ev.preventDefault(); $("end").click(); }
    else if (k === "t") { ev.preventDefault(); $("transfer").click(); }
    else if (k === "i") { ev.preventDefault(); $("note-mode").click(); }
  });

  $("status").value = statusWanted;
  $("status").onchange = function () {
    statusWanted = $("status").value;
    localStorage.setItem("cs-status", statusWanted);
    sendFrame({ type: "status", status: statusWanted });
  };

  // -- the socket --

  function sendFrame(f) {
    if (ws && connected) { ws.send(JSON.stringify(f)); return true; }
    return false;
  }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent");
    ws.onopen = function () {
      connected = true;
      var known = {};
      chats.forEach(function (c) { if (!c.ended) known[c.id] = c.lastSeq || 0; });
      ws.send(JSON.stringify({ type: "hello", v: 1, status: statusWanted, chats: known }));
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { sendFrame({ type: "ping" }); }, 20000 + Math.random() * 8000);
    };
    serverPings = 0;
    ws.onmessage = function (ev) {
      if (serverPings) quiet();
      handle(JSON.parse(ev.data));
    };
    ws.onclose = function (ev) {
      connected = false;
      clearInterval(pingTimer);
      clearTimeout(quietTimer);
      $("conn").hidden = false;
      if (ev.code === 1008 && !chats.size) { location.href = "/console/login"; return; }
      var delay = Math.min(30, 0.5 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2) * 1000;
      setTimeout(connect, delay);
    };
  }

  // The server pings: reconnect when nothing came for two and a half of its intervals.
  function quiet() {
    var sock = ws;
    clearTimeout(quietTimer);
    quietTimer = setTimeout(function () { sock.close(); }, 2.5 * serverPings);
  }

  function endedText(f) {
    var by = f.by ? T("Chat ended by the " + f.by + ".") : T("Chat ended.");
    return by + " " + T("Request number: {number}", { number: f.request_number });
  }

  function handle(f) {
    var c = f.chat && chats.get(f.chat);
    switch (f.type) {
      case "welcome":
        retry = 0;
        if (f.ping_seconds) { clearInterval(pingTimer); serverPings = f.ping_seconds * 1000; quiet(); }
        $("conn").hidden = true;
        $("status").value = f.agent.status;
        departments = f.departments || [];
        var live = {};
        f.chats.forEach(function (s) { live[s.chat] = 1; chatFrom(s); });
        // chats we had that are no longer ours ended or moved while we were away
        chats.forEach(function (old) { if (!live[old.id] && !old.ended) { old.ended = "closed"; old.endedText = T("This chat is no longer yours."); } });
        chats.forEach(function (ch) { ch.pending.forEach(function (p) { emit(p, ch); }); });
        if (!current && order.length) current = order[0];
        renderList();
        renderChat();
        break;
      case "assigned":
        var isNew = !chats.has(f.chat);
        c = chatFrom(f);
        if (!current) current = c.id;
        else if (current !== c.id && isNew) c.unread += 1;
        alertAgent(T("New chat"), playerName(c) + " · " + topicName(c.player.topic));
        renderList();
        if (current === c.id) renderChat();
        break;
      case "unassigned":
        if (c) { c.ended = "moved"; c.endedText = T(f.reason === "transferred" ? "You transferred this chat." : "This chat went back to the queue."); renderList(); if (current === c.id) renderChat(); }
        break;
      case "message":
        if (!c) break;
        c.messages.set(f.seq, f);
        c.lastSeq = Math.max(c.lastSeq || 0, f.seq);
        if (f.from === "player") c.typing = false;
        if (f.from === "player" && current !== c.id) { c.unread++; alertAgent(playerName(c), f.text); }
        else if (f.from === "player" && document.hidden) alertAgent(playerName(c), f.text);
        renderList();
        if (current === c.id) renderChat();
        break;
      case "ack":
        if (c && c.pending.has(f.id)) {
          var p = c.pending.get(f.id);
          c.pending.delete(f.id);
          c.messages.set(f.seq, { seq: f.seq, id: f.id, from: "agent", name: me.name, text: p.text, ts: p.ts, status: "delivered" });
          c.lastSeq = Math.max(c.lastSeq || 0, f.seq);
          if (current === c.id) renderChat();
        }
        break;
      case "note":
        if (!c) break;
        c.pending.delete(f.id);
        c.notes.set(f.id + ":" + f.agent.id, f);
        if (current === c.id) renderChat();
        break;
      case "typing":
        if (c && f.from === "player") {
          c.typing = f.active;
          clearTimeout(c.typingTimer);
          if (f.active) c.typingTimer = setTimeout(function () { c.typing = false; if (current === c.id) renderChat(); }, 6000);
          if (current === c.id) $("typing").textContent = c.typing ? T("{name} is typing…", { name: playerName(c) }) : "";
        }
        break;
      case "ended":
        if (!c) break;
        c.ended = f.request_number;
        c.endedText = endedText(f);
        c.pending.clear();
        if (f.by === "player") alertAgent(playerName(c), T("ended the chat"));
        renderList();
        if (current === c.id) renderChat();
        break;
      case "status":
        $("status").value = f.status;
        break;
      case "roster":
        showRoster(f.agents);
        break;
      case "ping":
        sendFrame({ type: "pong" });
        break;
      case "error":
        var pend = c && f.id && c.pending.get(f.id);
        if (pend) {
          if (f.code === "rate_limited") { setTimeout(function () { emit(pend, c); }, f.retry_after_ms || 1000); break; }
          pend.failed = true;
          if (current === c.id) renderChat();
        }
        toast(f.message);
        break;
    }
  }

  renderList();
  renderChat();
  connect();
})();
