// ozbot web chat. Every string from the visitor or the bot goes into the page with textContent,
// never innerHTML: message text is data, not markup.
"use strict";

(function () {
  const root = document.getElementById("chat");
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const labels = {
    shareLocation: root.dataset.shareLocation,
    locationDenied: root.dataset.locationDenied,
  };

  function messageId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function line(role, text) {
    const item = document.createElement("li");
    item.className = role;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    item.appendChild(bubble);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  async function post(body) {
    body.id = messageId();
    const response = await fetch(root.dataset.messages, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = String(response.status);
      try { detail = (await response.json()).error || detail; } catch (e) { /* not JSON */ }
      line("note", detail);
    }
  }

  function disableOptions() {
    for (const button of log.querySelectorAll(".options button")) button.disabled = true;
  }

  function shareLocation() {
    disableOptions();
    if (!navigator.geolocation) { line("note", labels.locationDenied); return; }
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const lat = position.coords.latitude;
        const lng = position.coords.longitude;
        line("me", "📍 " + lat.toFixed(5) + ", " + lng.toFixed(5));
        post({ location: { lat: lat, lng: lng } });
      },
      () => line("note", labels.locationDenied),
      { enableHighAccuracy: true, timeout: 15000 },
    );
  }

  function option(label, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", onClick);
    return button;
  }

  function showReply(reply) {
    const item = line("bot", reply.text);
    if (!reply.buttons.length && !reply.ask_location) return;
    const options = document.createElement("div");
    options.className = "options";
    for (const choice of reply.buttons) {
      options.appendChild(option(choice.label, () => {
        disableOptions();
        line("me", choice.label);
        post({ button: choice.payload });
      }));
    }
    if (reply.ask_location) options.appendChild(option(labels.shareLocation, shareLocation));
    item.appendChild(options);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    disableOptions();
    line("me", text);
    post({ text: text });
  });

  const events = new EventSource(root.dataset.events);
  events.addEventListener("reply", (event) => showReply(JSON.parse(event.data)));
  // a stream ends every few seconds by design and the browser reconnects at once: only a
  // reconnection that takes a while is worth telling the visitor about
  let pending = null;
  events.addEventListener("open", () => { clearTimeout(pending); status.hidden = true; });
  events.addEventListener("error", () => {
    clearTimeout(pending);
    pending = setTimeout(() => { status.hidden = false; }, 2000);
  });
  input.focus();
})();
