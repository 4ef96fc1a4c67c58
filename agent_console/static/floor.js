// chatserver supervisor floor: live figures, agents, live chats, and read-only monitoring.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var ws = null, retry = 0, watching = null, pingTimer = null;

  var h = window.csDom.h, T = window.csDom.t;
  function secs(s) { return s == null ? "–" : s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s"; }
  function send(f) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(f)); }

  function tile(label, value) { return h("div", { class: "tile" }, [h("div", { class: "v", text: String(value) }), h("div", { class: "k", text: T(label) })]); }

  function render(f) {
    var t = $("tiles");
    t.textContent = "";
    var online = f.agents.filter(function (a) { return a.connected && a.status === "online"; }).length;
    [
      ["Queue", f.queue.length], ["Longest wait", secs(f.queue.longest_wait)], ["Active chats", f.chats.active],
      ["Ended today", f.chats.ended_today], ["Agents online", online],
      ["Late requests", f.requests.late], ["Due within an hour", f.requests.due_soon],
      ["Avg first response", secs(f.today.avg_first_response)], ["Avg handling time", secs(f.today.avg_handle)],
      ["Satisfaction", f.today.avg_rating == null ? "–" : f.today.avg_rating + " / 5 (" + f.today.ratings + ")"]
    ].forEach(function (p) { t.appendChild(tile(p[0], p[1])); });
    var agents = $("agents");
    agents.textContent = "";
    f.agents.forEach(function (a) {
      var status = T(a.connected ? a.status : "disconnected");
      agents.appendChild(h("tr", null, [h("td", { text: a.name }), h("td", { class: "status-" + a.status, text: status }), h("td", { text: a.active + " / " + a.max_chats })]));
    });
    var live = $("live");
    live.textContent = "";
    f.live.forEach(function (c) {
      var actions = [h("button", { class: "btn", type: "button", text: T("Monitor"), onclick: function () { monitor(c.chat); } })];
      if (c.state === "active") actions.push(h("button", { class: "btn", type: "button", text: T("Take over"), onclick: function () { takeOver(c.chat); } }));
      var state = [document.createTextNode(T(c.state))];
      if (c.escalated) state.push(h("span", { class: "tag late", title: c.escalated, text: T("escalated") }));
      if (c.late) state.push(h("span", { class: "tag late", text: T("first answer late") }));
      live.appendChild(h("tr", c.escalated ? { class: "escalated" } : null, [
        h("td", { text: c.player || "–" }), h("td", { text: c.topic }), h("td", null, state), h("td", { text: c.agent || "–" }),
        h("td", null, actions)
      ]));
    });
  }

  // the chat becomes the supervisor's own: the workspace has it once it is theirs
  var takingOver = null;
  function takeOver(chat) {
    takingOver = chat;
    send({ type: "take_over", chat: chat });
  }

  function monitor(chat) {
    if (watching) send({ type: "unmonitor", chat: watching });
    watching = chat;
    $("monitor-log").textContent = "";
    send({ type: "monitor", chat: chat });
  }

  function line(cls, who, text) {
    $("monitor-log").appendChild(h("div", { class: "msg " + cls }, [h("div", { text: text }), h("div", { class: "meta", text: who })]));
    $("monitor-log").scrollTop = $("monitor-log").scrollHeight;
  }
  function show(m) { line(m.from, m.from === "agent" ? (m.name || T("Agent")) : T(m.from), m.text); }
  function note(n) { line("note", T("Internal note") + " · " + n.agent.name, n.text); }

  $("monitor-stop").onclick = function () {
    if (watching) send({ type: "unmonitor", chat: watching });
    watching = null;
    $("monitor").hidden = true;
  };

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent");
    ws.onopen = function () {
      send({ type: "hello", v: 1 });
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { send({ type: "ping" }); }, 25000);
    };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "welcome") { retry = 0; $("conn").hidden = true; send({ type: "floor", watch: true }); if (watching) monitor(watching); }
      else if (f.type === "floor") render(f);
      else if (f.type === "assigned" && f.chat === takingOver) location.href = "/console";
      else if (f.type === "monitoring") {
        $("monitor").hidden = false;
        $("monitor-title").textContent = (f.player.name || f.player.username || T("player")) + " · " + f.player.topic;
        var all = f.history.map(function (m) { return { k: [m.seq, 0], m: m }; }).concat(f.notes.map(function (n) { return { k: [n.after_seq, 1], n: n }; }));
        all.sort(function (a, b) { return a.k[0] - b.k[0] || a.k[1] - b.k[1]; });
        all.forEach(function (x) { if (x.m) show(x.m); else note(x.n); });
      }
      else if (f.chat && f.chat === watching) {
        if (f.type === "message") show(f);
        else if (f.type === "note") note(f);
        else if (f.type === "ended") line("system", "", T("Chat ended.") + " " + T("Request number: {number}", { number: f.request_number }));
      }
    };
    ws.onclose = function () {
      clearInterval(pingTimer);
      $("conn").hidden = false;
      setTimeout(connect, Math.min(30, 0.5 * Math.pow(2, retry++)) * 1000);
    };
  }
  connect();
})();
