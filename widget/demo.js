// The demo page's own script: a button that opens the widget, and a log of its chat:* events.
(function () {
  "use strict";
  document.getElementById("open-chat").addEventListener("click", function () {
    if (window.ChatWidget) window.ChatWidget.open();
  });
  var log = document.getElementById("events");
  ["ready", "open", "close", "queued", "assigned", "message", "unread", "ended", "rated", "connection", "availability"]
    .forEach(function (name) {
      window.addEventListener("chat:" + name, function (ev) {
        log.textContent += "chat:" + name + " " + JSON.stringify(ev.detail) + "\n";
        log.scrollTop = log.scrollHeight;
      });
    });
})();
