// ozbot agent console. Everything a customer, the bot or an agent wrote goes into the page with
// textContent, never innerHTML: message text is data, not markup. The live stream only says
// *what* changed; the page then fetches it, so a reconnect (or another server process) never
// leaves it stale.
"use strict";

(function () {
  const body = document.body;
  const csrf = body.dataset.csrf || "";
  const baseTitle = document.title;
  const notice = document.getElementById("notice");
  const badge = document.getElementById("waiting-badge");

  function say(text, isError) {
    notice.textContent = text;
    notice.className = isError ? "error" : "ok";
    notice.hidden = !text;
  }

  async function call(method, path, payload) {
    const options = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrf;
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload || {});
    }
    const response = await fetch(path, options);
    if (response.status === 401) {
      window.location.assign("/console/login");
      throw new Error("logged out");
    }
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) throw new Error(data.error || String(response.status));
    return data;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function since(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    return hours + " h " + String(minutes % 60).padStart(2, "0");
  }

  function clock(iso) {
    const d = new Date(iso);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function showWaiting(count) {
    document.title = (count ? "(" + count + ") " : "") + baseTitle;
    if (badge) { badge.textContent = String(count); badge.hidden = !count; }
  }

  // -- the live stream ------------------------------------------------------------------------

  function live(refresh) {
    let timer = null;
    function soon() {
      if (timer) return;
      timer = setTimeout(function () { timer = null; refresh(); }, 150);
    }
    const source = new EventSource("/console/api/events");
    source.addEventListener("open", soon);
    source.addEventListener("change", function (event) {
      let change = {};
      try { change = JSON.parse(event.data); } catch (e) { /* ignore */ }
      soon(change);
    });
    return source;
  }

  // -- the queue ------------------------------------------------------------------------------

  function queuePage() {
    const known = new Set();
    let first = true;

    function row(ticket, fresh) {
      const tr = el("tr", "ticket " + ticket.channel + (fresh ? " new" : ""));
      tr.dataset.ticket = String(ticket.id);
      tr.appendChild(el("td", "channel", ticket.channel_label));
      tr.appendChild(el("td", "customer", ticket.customer));
      const waited = el("td", "since", since(ticket.since));
      waited.dataset.since = ticket.since;
      tr.appendChild(waited);
      const last = ticket.last_message;
      tr.appendChild(el("td", "last", last ? last.text : ""));
      const action = el("td", "act");
      if (ticket.status === "waiting") {
        tr.insertBefore(el("td", "reason", ticket.reason), null);
        const claim = el("button", "claim", "Assumir");
        claim.type = "button";
        claim.addEventListener("click", async function () {
          claim.disabled = true;
          try {
            await call("POST", "/console/api/tickets/" + ticket.id + "/claim");
            window.location.assign("/console/tickets/" + ticket.id);
          } catch (e) { say(e.message, true); claim.disabled = false; }
        });
        action.appendChild(claim);
      } else {
        tr.appendChild(el("td", "agent", ticket.agent || ""));
        if (ticket.mine) {
          const open = el("a", "open", "Abrir");
          open.href = "/console/tickets/" + ticket.id;
          action.appendChild(open);
        }
      }
      tr.appendChild(action);
      return tr;
    }

    async function refresh() {
      let data;
      try { data = await call("GET", "/console/api/queue"); } catch (e) { say(e.message, true); return; }
      const waiting = document.querySelector("#waiting tbody");
      const claimed = document.querySelector("#claimed tbody");
      waiting.replaceChildren();
      claimed.replaceChildren();
      for (const ticket of data.tickets) {
        const fresh = !first && !known.has(ticket.id);
        known.add(ticket.id);
        (ticket.status === "waiting" ? waiting : claimed).appendChild(row(ticket, fresh));
      }
      first = false;
      body.dataset.loaded = "1";  // arrivals from now on are highlighted
      document.getElementById("waiting-empty").hidden = waiting.children.length > 0;
      document.getElementById("claimed-empty").hidden = claimed.children.length > 0;
      showWaiting(data.waiting);
    }

    setInterval(function () {
      for (const cell of document.querySelectorAll("td.since")) cell.textContent = since(cell.dataset.since);
    }, 5000);
    live(refresh);
    refresh();
  }

  // -- one conversation -----------------------------------------------------------------------

  const ROLES = { customer: "Cliente", bot: "Bot", agent: "Atendente", system: "Sistema" };
  const OUTCOMES = {
    released: "devolvida ao bot", resolved: "encerrada pelo atendente",
    expired: "devolvida ao bot (ninguém assumiu)", customer_left: "o cliente voltou ao menu",
  };

  function ticketPage() {
    const root = document.getElementById("ticket");
    const id = root.dataset.ticket;
    const base = "/console/api/tickets/" + id;
    const transcript = document.getElementById("transcript");
    const reply = document.getElementById("reply");
    const replyText = document.getElementById("reply-text");
    const actions = document.getElementById("actions");
    const codes = document.getElementById("code");
    const dialog = document.getElementById("confirm");
    let shown = "";

    function render(data) {
      const t = data.ticket;
      document.getElementById("channel").textContent = t.channel_label;
      document.getElementById("customer").textContent = t.customer;
      let state = "Aguardando desde " + clock(t.since) + " · " + t.reason;
      if (t.status === "claimed") state = "Em atendimento por " + t.agent;
      if (t.status === "closed") state = "Encerrada: " + (OUTCOMES[t.outcome] || t.outcome || "");
      document.getElementById("state").textContent = state;
      const lines = JSON.stringify(data.transcript);
      if (lines !== shown) {
        shown = lines;
        transcript.replaceChildren();
        for (const entry of data.transcript) {
          const item = el("li", entry.role);
          item.appendChild(el("span", "who", ROLES[entry.role] || entry.role));
          item.appendChild(el("span", "at", clock(entry.at)));
          item.appendChild(el("div", "bubble", entry.text));
          transcript.appendChild(item);
        }
        transcript.scrollTop = transcript.scrollHeight;
      }
      const context = document.getElementById("context");
      context.replaceChildren();
      for (const pair of data.context) {
        context.appendChild(el("dt", null, pair[0]));
        context.appendChild(el("dd", null, pair[1]));
      }
      if (!data.context.length) context.appendChild(el("dd", "empty", "O bot ainda não coletou dados."));
      const previous = codes.value;
      codes.replaceChildren();
      for (const r of data.reservations) {
        const option = el("option", null, r.code + (r.address ? " — " + r.address : ""));
        option.value = r.code;
        codes.appendChild(option);
      }
      if (previous) codes.value = previous;
      for (const button of actions.querySelectorAll("[data-action]")) button.disabled = !data.reservations.length;
      reply.hidden = !data.can_act;
      actions.hidden = !data.can_act;
      document.getElementById("claim-bar").hidden = !data.can_claim;
    }

    async function refresh() {
      try { render(await call("GET", base)); } catch (e) { say(e.message, true); }
    }

    async function refreshQueueCount() {
      try { showWaiting((await call("GET", "/console/api/queue")).waiting); } catch (e) { /* shown elsewhere */ }
    }

    function confirmThen(text, action) {
      document.getElementById("confirm-text").textContent = text;
      dialog.returnValue = "";
      dialog.onclose = function () { if (dialog.returnValue === "ok") action(); };
      dialog.showModal();
    }

    reply.addEventListener("submit", async function (event) {
      event.preventDefault();
      const text = replyText.value.trim();
      if (!text) return;
      document.getElementById("reply-send").disabled = true;
      try {
        await call("POST", base + "/messages", { text: text });
        replyText.value = "";
        say("", false);
      } catch (e) { say(e.message, true); }
      document.getElementById("reply-send").disabled = false;
      refresh();
    });
    replyText.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); reply.requestSubmit(); }
    });

    const LABELS = {
      activate: "Ativar (implantar) a reserva {code} no OZmap?",
      status_ok: "Marcar o cliente {code} como OK no OZmap?",
      status_error: "Marcar o cliente {code} como ERRO no OZmap?",
    };
    for (const button of actions.querySelectorAll("[data-action]")) {
      button.addEventListener("click", function () {
        const action = button.dataset.action;
        const code = codes.value;
        if (!code) return;
        confirmThen(LABELS[action].replace("{code}", code), async function () {
          try {
            await call("POST", base + "/ozmap", { action: action, code: code });
            say("Feito: " + button.textContent + " (" + code + ")", false);
          } catch (e) { say(e.message, true); }
          refresh();
        });
      });
    }

    async function close(outcome) {
      try {
        await call("POST", base + "/release", { outcome: outcome });
        window.location.assign("/console/");
      } catch (e) { say(e.message, true); refresh(); }
    }
    document.getElementById("release").addEventListener("click", function () {
      confirmThen("Devolver a conversa ao bot? Ele volta a responder o cliente.", function () { close("released"); });
    });
    document.getElementById("resolve").addEventListener("click", function () {
      confirmThen("Encerrar o atendimento?", function () { close("resolved"); });
    });
    document.getElementById("claim").addEventListener("click", async function () {
      try { await call("POST", base + "/claim"); } catch (e) { say(e.message, true); }
      refresh();
    });

    live(function () { refresh(); refreshQueueCount(); });
    refresh();
    refreshQueueCount();
  }

  if (body.dataset.page === "queue") queuePage();
  if (body.dataset.page === "ticket") ticketPage();
})();
