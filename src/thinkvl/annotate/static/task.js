// The task page: a frame-accurate player, one editor per field, autosave with optimistic
// locking, review verdicts, and keyboard shortcuts. Plain JavaScript, no build step. Text from
// the server is only ever set with textContent (never parsed as HTML).
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const csrf = $('meta[name="csrf-token"]').content;
  let task = JSON.parse($("#task-data").textContent);
  const MODE = task.mode;
  const EDITABLE = MODE === "annotate" || MODE === "review";
  const storeKey = `thinkvl-annotate:${task.id}:${MODE}`;
  const flashKey = "thinkvl-annotate:flash";

  // -- helpers -------------------------------------------------------------------------------
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const isEmpty = (v) => v === null || v === undefined || v === "" ||
    (Array.isArray(v) && v.length === 0);
  const secs = (t) => (t === null || t === undefined ? "?" : (+t).toFixed(2));
  const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");

  function show(type, v) {
    if (isEmpty(v)) return "—";
    if (type === "segments") return v.map((r) => `${secs(r.start)}–${secs(r.end)} s: ${r.action}`).join("; ");
    if (type === "texts") {
      return v.map((r) => `“${r.text}”` + (r.start !== null && r.start !== undefined
        ? ` @ ${secs(r.start)}–${secs(r.end)} s` : "") + (r.box ? ` [${r.box.join(", ")}]` : "")).join("; ");
    }
    return String(v);
  }

  async function api(method, url, body) {
    let res;
    try {
      res = await fetch(url, {
        method, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      return { ok: false, status: 0, data: { message: "the server cannot be reached" } };
    }
    let data = {};
    try { data = await res.json(); } catch (err) { data = { message: `the server answered ${res.status}` }; }
    return { ok: res.ok, status: res.status, data };
  }

  const banner = $("#banner");
  function say(text, kind = "info", extra = null) {
    banner.replaceChildren(el("span", { class: "text", text }));
    if (extra) banner.append(extra);
    banner.dataset.kind = kind;
    banner.className = `banner ${kind}`;
    banner.hidden = false;
  }
  function unsay() { banner.hidden = true; banner.replaceChildren(); }

  const saveState = $("#save-state");
  function state(kind, text) { saveState.dataset.state = kind; saveState.textContent = text; }

  // -- player --------------------------------------------------------------------------------
  class Player {
    constructor(media) {
      this.media = media;
      this.kind = media.kind;
      this.fps = media.fps || 25;
      this.n = Math.max(1, media.frames || 1);
      this.index = 0;
      this.timer = null;
      const stage = $("#stage");
      this.scrub = $("#scrub");
      if (this.kind === "frames") {
        this.img = el("img", { id: "frame-img", alt: `frame of ${media.name}`, src: media.frame_urls[0] });
        stage.append(this.img);
        for (const u of media.frame_urls) { const pre = new Image(); pre.src = u; }
      } else if (this.kind === "video") {
        this.video = el("video", { id: "video", src: media.url, preload: "auto", playsinline: true, muted: true });
        this.video.addEventListener("timeupdate", () => this.show());
        this.video.addEventListener("seeked", () => this.show());
        this.video.addEventListener("pause", () => this.showPlaying(false));
        this.video.addEventListener("play", () => this.showPlaying(true));
        stage.append(this.video);
      } else {
        stage.append(el("img", { id: "still-img", alt: media.name, src: media.url }));
        $("#controls").hidden = true;
      }
      this.scrub.max = String(this.n - 1);
      this.scrub.addEventListener("input", () => this.seekFrame(+this.scrub.value));
      $("#prev").addEventListener("click", () => this.step(-1));
      $("#next").addEventListener("click", () => this.step(1));
      $("#play").addEventListener("click", () => this.toggle());
      const dims = media.width ? `${media.width}×${media.height}` : "";
      $("#media-info").textContent = this.timed
        ? `${media.kind === "frames" ? "frame folder" : "video"} · ${dims} · ${this.n} frames at ${this.fps} fps · ${secs(media.duration)} s`
        : `image · ${dims}`;
      this.show();
    }
    get timed() { return this.kind !== "image"; }
    frame() {
      if (this.kind === "video") return Math.min(this.n - 1, Math.floor(this.video.currentTime * this.fps + 1e-6));
      return this.index;
    }
    frameStart() { return this.timed ? +(this.frame() / this.fps).toFixed(3) : null; }
    frameEnd() {
      if (!this.timed) return null;
      const end = (this.frame() + 1) / this.fps;
      return +Math.min(end, this.media.duration || end).toFixed(3);
    }
    seekFrame(i) {
      i = Math.max(0, Math.min(this.n - 1, Math.round(i)));
      if (this.kind === "frames") {
        this.index = i;
        this.img.src = this.media.frame_urls[i];
      } else if (this.kind === "video") {
        this.video.currentTime = (i + 0.5) / this.fps;  // the middle of frame i
      }
      this.show(i);
    }
    seek(t) { this.pause(); this.seekFrame(Math.floor(t * this.fps + 1e-6)); }
    step(k) { this.pause(); this.seekFrame(this.frame() + k); }
    toggle() { if (this.playing()) this.pause(); else this.play(); }
    playing() { return this.kind === "video" ? !this.video.paused : this.timer !== null; }
    play() {
      if (!this.timed) return;
      if (this.kind === "video") { this.video.play(); return; }
      if (this.index >= this.n - 1) this.seekFrame(0);
      this.timer = setInterval(() => {
        if (this.index >= this.n - 1) this.pause(); else this.seekFrame(this.index + 1);
      }, 1000 / this.fps);
      this.showPlaying(true);
    }
    pause() {
      if (this.kind === "video") { this.video.pause(); return; }
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      this.showPlaying(false);
    }
    showPlaying(on) { $("#play").textContent = on ? "Pause" : "Play"; }
    show(i = this.frame()) {
      if (!this.timed) return;
      const t0 = i / this.fps;
      const t1 = Math.min((i + 1) / this.fps, this.media.duration || Infinity);
      $("#time").textContent = `${t0.toFixed(2)} s · frame ${i + 1} / ${this.n} (${t0.toFixed(2)}–${t1.toFixed(2)} s)`;
      $("#time").dataset.frame = String(i);
      this.scrub.value = String(i);
    }
  }
  const player = new Player(task.media);

  // -- field editors ---------------------------------------------------------------------------
  const cards = new Map();  // name -> card object
  let active = null;

  function rowEditor(card, row = {}) {
    const timed = card.f.type === "segments" || player.timed;
    const r = el("div", { class: "row" });
    const num = (cls, v, label) => el("input", {
      class: cls, type: "number", step: "0.01", min: "0", value: v ?? "", "aria-label": label, placeholder: label,
    });
    if (timed) {
      const start = num("start", row.start, "start s");
      const end = num("end", row.end, "end s");
      r.append(
        el("button", { type: "button", class: "go", title: "play from the start of this row", text: "▶", onclick: () => { if (start.value !== "") player.seek(+start.value); } }),
        start,
        el("button", { type: "button", class: "now now-start", title: "start = now ([)", text: "[", onclick: () => setTime(card, r, "start") }),
        end,
        el("button", { type: "button", class: "now now-end", title: "end = now (])", text: "]", onclick: () => setTime(card, r, "end") }),
      );
    }
    if (card.f.type === "segments") {
      r.append(el("input", { class: "action", type: "text", value: row.action ?? "", placeholder: "action", "aria-label": "action" }));
    } else {
      r.append(el("input", { class: "text", type: "text", value: row.text ?? "", placeholder: "text as it appears", "aria-label": "text" }));
      r.append(el("input", { class: "box", type: "text", value: row.box ? row.box.join(", ") : "", placeholder: "box x1,y1,x2,y2 (0–1000, optional)", "aria-label": "box" }));
    }
    r.append(el("button", { type: "button", class: "remove", title: "remove this row", text: "✕", onclick: () => { r.remove(); card.activeRow = null; edited(card); } }));
    r.addEventListener("input", () => edited(card));
    r.addEventListener("focusin", () => { card.activeRow = r; });
    return r;
  }

  function setTime(card, row, which) {
    if (!player.timed) return;
    const input = $(`input.${which}`, row);
    input.value = String(which === "start" ? player.frameStart() : player.frameEnd());
    card.activeRow = row;
    edited(card);
  }

  function readRows(card) {
    return $$(".row", card.editor).map((r) => {
      const num = (cls) => { const i = $(`input.${cls}`, r); return !i || i.value === "" ? null : +i.value; };
      if (card.f.type === "segments") return { start: num("start"), end: num("end"), action: $("input.action", r).value };
      const box = $("input.box", r).value.trim();
      return { text: $("input.text", r).value, start: num("start"), end: num("end"), box: box === "" ? null : box };
    });
  }

  function buildEditor(card) {
    const f = card.f;
    if (f.type === "label") {
      const sel = el("select", { class: "label-input", "aria-label": f.title },
        el("option", { value: "", text: "— none —" }),
        ...f.labels.map((l, i) => el("option", { value: l, text: i < 9 ? `${i + 1}  ${l}` : l })));
      sel.addEventListener("change", () => edited(card));
      card.editor.append(sel);
    } else if (f.type === "caption") {
      const ta = el("textarea", { class: "caption-input", rows: "4", "aria-label": f.title, placeholder: "describe the video" });
      ta.addEventListener("input", () => edited(card));
      card.editor.append(ta);
    } else {
      card.editor.append(el("div", { class: "rows" }));
      card.editor.append(el("button", {
        type: "button", class: "add-row", text: f.type === "segments" ? "+ segment (S)" : "+ text (S)",
        onclick: () => addRow(card),
      }));
    }
  }

  function addRow(card) {
    const start = player.frameStart();
    const row = rowEditor(card, player.timed ? { start, end: null } : {});
    $(".rows", card.editor).append(row);
    card.activeRow = row;
    const first = $("input.action, input.text", row);
    if (first) first.focus();
    edited(card);
    return row;
  }

  function getValue(card) {
    const f = card.f;
    if (f.type === "label") return $("select", card.editor).value || null;
    if (f.type === "caption") { const v = $("textarea", card.editor).value; return v.trim() ? v : null; }
    return readRows(card);
  }

  function setValue(card, v) {
    const f = card.f;
    if (f.type === "label") $("select", card.editor).value = v || "";
    else if (f.type === "caption") $("textarea", card.editor).value = v || "";
    else {
      const rows = $(".rows", card.editor);
      rows.replaceChildren(...(v || []).map((r) => rowEditor(card, r)));
      card.activeRow = null;
    }
  }

  const STATUS_TEXT = { pending: "to decide", accepted: "accepted", edited: "edited", rejected: "rejected" };

  function refreshCard(card) {
    const f = card.f;
    const draftDone = ["done", "failed", "skipped", "none"].includes(task.draft.status);
    $(".draft-text", card.root).textContent = f.has_draft ? show(f.type, f.draft)
      : (!f.drafted ? "not drafted for this field" : draftDone ? "no draft (the model gave nothing usable)" : "waiting for the model…");
    card.root.classList.toggle("no-draft", !f.has_draft);
    const badge = $(".status", card.root);
    if (MODE === "review" || task.status === "submitted" || task.status === "accepted") {
      const rs = f.review_status;
      badge.dataset.status = rs || "unreviewed";
      badge.textContent = rs === "agree" ? "agreed" : rs === "changed" ? "conflict" : (MODE === "review" ? "to review" : STATUS_TEXT[f.status]);
    } else {
      badge.dataset.status = f.status;
      badge.textContent = STATUS_TEXT[f.status] || f.status;
    }
    const who = $(".who-line", card.root);
    const bits = [];
    if (f.annotated_by) bits.push(`${STATUS_TEXT[f.status]} by ${f.annotated_by} at ${clock(f.annotated_at)}`);
    if (f.reviewed_by) bits.push(`reviewed by ${f.reviewed_by} at ${clock(f.reviewed_at)}`);
    who.textContent = bits.join(" · ");
    const ann = $(".annotator-text", card.root);
    if (ann) ann.textContent = show(f.type, f.value);
    const res = $(".resolution", card.root);
    if (res) {
      res.hidden = f.review_status !== "changed";
      for (const radio of $$("input", res)) radio.checked = radio.value === (f.resolution || "reviewer");
    }
    const accept = $("button.accept", card.root);
    if (accept) {
      accept.textContent = f.has_draft ? "Accept draft (A)" : "Confirm (A)";
      accept.title = f.has_draft ? "keep the model's value"
        : "the model gave nothing: confirm the field as it stands (empty if nothing is there)";
    }
    const reject = $("button.reject", card.root);
    if (reject) reject.disabled = !f.has_draft;
  }

  function renderFields() {
    const box = $("#fields");
    for (const c of cards.values()) c.root.remove();
    cards.clear();
    for (const f of task.fields) {
      const root = el("article", { class: `field card t-${f.type}`, "data-field": f.name, tabindex: "-1" });
      const card = { f, root, editor: el("div", { class: "editor" }), activeRow: null };
      root.append(el("header", {},
        el("h3", { text: f.title }),
        el("span", { class: "status badge" }),
      ));
      if (f.help) root.append(el("p", { class: "help-text muted", text: f.help }));
      root.append(el("p", { class: "draft-line" }, el("span", { class: "label", text: "Model draft: " }), el("span", { class: "draft-text" })));
      if (MODE !== "annotate") {
        root.append(el("p", { class: "annotator-line" },
          el("span", { class: "label", text: `Annotator${task.annotator ? ` (${task.annotator})` : ""}: ` }),
          el("span", { class: "annotator-text" })));
      }
      if (MODE === "view") {
        const shown = task.status === "accepted" ? f.final : f.value;
        root.append(el("p", { class: "final-line" }, el("span", { class: "label", text: task.status === "accepted" ? "Final: " : "Value: " }), el("span", { class: "final-text", text: show(f.type, shown) })));
      } else {
        root.append(card.editor);
        buildEditor(card);
        const actions = el("div", { class: "field-actions" });
        if (MODE === "annotate") {
          actions.append(
            el("button", { type: "button", class: "accept", onclick: () => acceptDraft(card) }),
            el("button", { type: "button", class: "reject", text: "Reject (R)", title: "the draft is wrong: clear it", onclick: () => rejectDraft(card) }),
          );
          setValue(card, f.value);
        } else {
          actions.append(el("button", { type: "button", class: "agree", text: "Agree (A)", title: "the annotator's value is right", onclick: () => agree(card) }));
          const res = el("div", { class: "resolution", hidden: true },
            el("span", { class: "label", text: "Conflict — final value: " }),
            el("label", {}, el("input", { type: "radio", name: `res-${f.name}`, value: "reviewer" }), " mine"),
            el("label", {}, el("input", { type: "radio", name: `res-${f.name}`, value: "annotator" }), " annotator's"));
          res.addEventListener("change", (ev) => queue(card, { resolution: ev.target.value }, true));
          actions.append(res);
          setValue(card, f.review_status ? f.review_value : f.value);
        }
        root.append(actions);
      }
      root.append(el("p", { class: "who-line muted small" }));
      root.append(el("p", { class: "field-error", hidden: true, role: "alert" }));
      root.addEventListener("focusin", () => activate(f.name, false));
      root.addEventListener("mousedown", () => activate(f.name, false));
      box.append(root);
      cards.set(f.name, card);
      refreshCard(card);
    }
    activate(active && cards.has(active) ? active : (task.fields[0] || {}).name, false);
    lockEditors(draftBusy());
  }

  function activate(name, focus = true) {
    if (!name || !cards.has(name)) return;
    active = name;
    for (const [n, c] of cards) c.root.classList.toggle("active", n === name);
    const card = cards.get(name);
    if (focus) { card.root.focus({ preventScroll: true }); card.root.scrollIntoView({ block: "nearest" }); }
  }

  function moveActive(k) {
    const names = Array.from(cards.keys());
    const i = Math.max(0, names.indexOf(active));
    activate(names[Math.max(0, Math.min(names.length - 1, i + k))]);
  }

  // -- decisions -----------------------------------------------------------------------------
  function acceptDraft(card) {
    if (card.f.has_draft) {
      setValue(card, card.f.draft);
      queue(card, { value: card.f.draft });
    } else {
      queue(card, { value: getValue(card) });  // no draft: confirm the field as it stands
    }
  }
  function rejectDraft(card) {
    if (!card.f.has_draft) return;
    setValue(card, null);
    queue(card, { reject: true });
  }
  function agree(card) {
    setValue(card, card.f.value);
    queue(card, { agree: true });
  }
  function edited(card) { queue(card, { value: getValue(card) }); }

  // -- autosave --------------------------------------------------------------------------------
  const dirty = new Map();   // field -> change not yet saved
  const invalid = new Map(); // field -> message (not retried until edited again)
  let inflight = false;
  let blocked = false;       // a conflict: never overwrite, wait for a reload
  let timer = null;
  let backoff = 500;
  let savedAt = null;

  function queue(card, change, merge = false) {
    if (!EDITABLE || blocked) { backup(); return; }
    const name = card.f.name;
    dirty.set(name, merge ? { ...(dirty.get(name) || {}), ...change } : change);
    invalid.delete(name);
    fieldError(name, null);
    backup();
    state("dirty", "Unsaved changes…");
    schedule(400);
  }

  function schedule(ms) { clearTimeout(timer); timer = setTimeout(flush, ms); }

  function backup() {
    const pending = Object.fromEntries([...dirty, ...[...invalid.keys()].filter((n) => !dirty.has(n)).map((n) => [n, { value: getValue(cards.get(n)) }])]);
    if (Object.keys(pending).length) localStorage.setItem(storeKey, JSON.stringify({ version: task.version, fields: pending }));
    else localStorage.removeItem(storeKey);
  }

  function fieldError(name, message) {
    const card = cards.get(name);
    if (!card) return;
    const p = $(".field-error", card.root);
    p.hidden = !message;
    p.textContent = message || "";
    card.root.classList.toggle("invalid", !!message);
  }

  function applyTask(next) {
    task = next;
    for (const f of task.fields) {
      const card = cards.get(f.name);
      if (card) { card.f = f; refreshCard(card); }
    }
  }

  async function flush() {
    clearTimeout(timer);
    if (inflight || blocked || dirty.size === 0) return;
    inflight = true;
    const sent = new Map(dirty);
    state("saving", "Saving…");
    const url = `/api/tasks/${task.id}/${MODE === "review" ? "review" : "fields"}`;
    const res = await api("PUT", url, { version: task.version, fields: Object.fromEntries(sent) });
    inflight = false;
    if (res.ok) {
      backoff = 500;
      for (const [k, v] of sent) if (dirty.get(k) === v) dirty.delete(k);
      applyTask(res.data);
      savedAt = new Date();
      backup();
      if (dirty.size) schedule(0);
      else if (invalid.size) state("error", `Not saved: ${invalid.size} field(s) need fixing`);
      else state("saved", `All changes saved · ${savedAt.toLocaleTimeString()}`);
      return;
    }
    if (res.status === 409) {
      blocked = true;
      backup();
      state("conflict", "Not saved — the task changed elsewhere");
      const reload = el("button", { type: "button", id: "reload", text: "Reload (discard my unsaved edits)", onclick: () => { localStorage.removeItem(storeKey); location.reload(); } });
      say(res.data.message || "This task was changed by someone else; reload to see their changes.", "conflict", reload);
      return;
    }
    if (res.status === 422 && res.data.field && sent.has(res.data.field)) {
      const name = res.data.field;
      invalid.set(name, res.data.message);
      dirty.delete(name);
      fieldError(name, res.data.message);
      backup();
      if (dirty.size) schedule(0); else state("error", "Not saved: fix the field marked in red");
      return;
    }
    if (res.status === 401) {
      state("offline", "Not saved — your session ended");
      say("Your session has ended. Log in again in another tab; your edits are kept here and saved once you are back.", "error");
    } else if (res.status === 0 || res.status >= 500) {
      state("offline", `Not saved — server unreachable, retrying in ${Math.round(backoff / 1000)} s`);
    } else {
      blocked = res.status === 403;
      state("error", "Not saved");
      say(res.data.message || `Saving failed (${res.status}).`, "error");
      if (blocked) return;
    }
    schedule(backoff);
    backoff = Math.min(backoff * 2, 5000);
  }

  async function settle() {
    // wait for pending saves before a submit/accept
    for (let i = 0; i < 100 && (dirty.size || inflight); i++) {
      if (!inflight) await flush();
      else await new Promise((r) => setTimeout(r, 100));
      if (blocked) return false;
    }
    return dirty.size === 0 && invalid.size === 0 && !blocked;
  }

  window.addEventListener("beforeunload", (ev) => {
    if (dirty.size && !blocked) { ev.preventDefault(); ev.returnValue = ""; }
  });

  // -- task actions ----------------------------------------------------------------------------
  function markFields(names) {
    for (const n of names || []) fieldError(n, "decide this field");
    if (names && names.length) activate(names[0]);
  }

  async function finish(path, body, done) {
    if (!(await settle())) {
      say("Some edits are not saved yet; fix them (or reload) first.", "error");
      return;
    }
    const res = await api("POST", `/api/tasks/${task.id}/${path}`, { version: task.version, ...body });
    if (res.ok) {
      localStorage.removeItem(storeKey);
      sessionStorage.setItem(flashKey, done);
      location.reload();
      return;
    }
    if (res.status === 409) blocked = true;
    say(res.data.message || `Failed (${res.status}).`, res.status === 409 ? "conflict" : "error");
    if (res.data.fields) markFields(res.data.fields);
    if (res.data.field) fieldError(res.data.field, res.data.message);
  }

  const primary = () => {
    if (MODE === "annotate") return finish("submit", {}, "Submitted for review.");
    if (MODE === "review") return finish("accept", {}, "Accepted.");
    return null;
  };
  if ($("#submit")) $("#submit").addEventListener("click", primary);
  if ($("#accept-task")) $("#accept-task").addEventListener("click", primary);
  if ($("#return-task")) {
    $("#return-task").addEventListener("click", () => {
      const note = el("textarea", { id: "return-note", rows: "2", placeholder: "what should the annotator fix?" });
      const go = el("button", { type: "button", id: "confirm-return", text: "Return", onclick: () => finish("return", { note: note.value }, "Returned to the annotator.") });
      say("Return this task to its annotator:", "info", el("span", { class: "return-form" }, note, go));
      note.focus();
    });
  }

  // -- model draft -----------------------------------------------------------------------------
  function draftBusy() { return task.draft.status === "queued" || task.draft.status === "running"; }

  function lockEditors(lock) {
    for (const c of cards.values()) {
      for (const x of $$("input, select, textarea, button", c.root)) x.disabled = lock || (x.classList.contains("reject") && !c.f.has_draft);
    }
    for (const id of ["#submit", "#accept-task"]) if ($(id)) $(id).disabled = lock;
  }

  function showDraftState() {
    const d = task.draft;
    const box = $("#draft-state");
    box.replaceChildren();
    box.dataset.status = d.status;
    if (d.status === "queued" || d.status === "running") {
      box.append(el("span", { class: "spinner" }), ` The model is drafting this task (${d.status})… `,
        MODE === "annotate" ? el("button", { type: "button", id: "skip-draft", text: "Annotate without the draft", onclick: skipDraft }) : "");
    } else if (d.status === "done") {
      const n = task.fields.filter((f) => f.has_draft).length;
      box.append(`Draft by model `, el("b", { text: d.model || "?" }), ` at ${clock(d.at)}: ${n} of ${task.fields.length} fields drafted.` +
        (MODE === "annotate" ? " Accept, edit or reject each field." : ""));
    } else if (d.status === "failed") {
      box.append(`The model's draft failed (${d.error || "no reason given"}); fill the fields yourself.`);
    } else if (d.status === "skipped") {
      box.append("Annotated without a model draft.");
    } else {
      box.append("No model draft for this task (the server runs without --model).");
    }
  }

  async function skipDraft() {
    const res = await api("POST", `/api/tasks/${task.id}/skip-draft`);
    if (res.ok) { task = res.data; renderFields(); showDraftState(); }
  }

  async function pollDraft() {
    if (!draftBusy()) return;
    const res = await api("GET", `/api/tasks/${task.id}`);
    if (res.ok) {
      const was = task.draft.status;
      task = res.data;
      if (!draftBusy()) { renderFields(); showDraftState(); restore(); return; }
      if (task.draft.status !== was) showDraftState();
    }
    setTimeout(pollDraft, 700);
  }

  // -- restoring edits not saved before a reload -----------------------------------------------
  // The page keeps edits the server has not confirmed in localStorage. After a reload they are
  // re-applied when the task is as they left it, or when the only change since was this
  // person's own (a save still in flight when the page went away). If someone else changed the
  // task meanwhile, nothing is applied silently: the person chooses.
  function restore() {
    if (!EDITABLE || draftBusy()) return;
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (err) { saved = null; }
    if (!saved || !saved.fields) return;
    const names = Object.keys(saved.fields).filter((n) => cards.has(n));
    if (!names.length) { localStorage.removeItem(storeKey); return; }
    const apply = () => {
      for (const n of names) {
        const change = saved.fields[n];
        if ("value" in change) setValue(cards.get(n), change.value);
        dirty.set(n, change);
      }
      say(`Restored ${names.length} edit(s) that were not saved before the reload; saving them now.`, "info");
      state("dirty", "Unsaved changes…");
      schedule(0);
    };
    if (saved.version === task.version || task.updated_by === task.me) { apply(); return; }
    localStorage.removeItem(storeKey);
    const again = el("button", { type: "button", id: "reapply", text: "Re-apply my edits", onclick: () => { unsay(); apply(); } });
    say(`${names.length} edit(s) of yours were not saved before the reload, and ${task.updated_by || "someone"} changed the task at ${clock(task.updated_at)} since. Check their changes first.`, "conflict", again);
  }

  // -- keyboard --------------------------------------------------------------------------------
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target instanceof HTMLElement && ev.target.matches("input, textarea, select");
    const mod = ev.ctrlKey || ev.metaKey;
    if (mod && ev.key === "Enter") { ev.preventDefault(); primary(); return; }
    if (mod && (ev.key === "s" || ev.key === "S")) { ev.preventDefault(); flush(); return; }
    if (ev.key === "Escape") { if (typing) ev.target.blur(); $("#help").open = false; return; }
    if (typing || mod || ev.altKey) return;
    const card = cards.get(active);
    const list = card && (card.f.type === "segments" || card.f.type === "texts");
    const editable = EDITABLE && !draftBusy() && !blocked;
    let handled = true;
    switch (ev.key) {
      case " ": player.toggle(); break;
      case "k": moveActive(-1); break;
      case "ArrowLeft": case ",": player.step(ev.shiftKey ? -Math.round(player.fps) : -1); break;
      case "ArrowRight": case ".": player.step(ev.shiftKey ? Math.round(player.fps) : 1); break;
      case "j": moveActive(1); break;
      case "a": if (editable && card) (MODE === "review" ? agree : acceptDraft)(card); break;
      case "r": if (editable && card && MODE === "annotate") rejectDraft(card); break;
      case "e": if (editable && card) { const i = $("input, select, textarea", card.editor); if (i) i.focus(); else if (list) addRow(card); } break;
      case "s": {
        if (!editable) break;
        const target = list ? card : [...cards.values()].find((c) => c.f.type === "segments" || c.f.type === "texts");
        if (target) { activate(target.f.name, false); addRow(target); }
        break;
      }
      case "[": case "]": {
        if (!editable || !list) break;
        const row = card.activeRow || $$(".row", card.editor).pop() || addRow(card);
        setTime(card, row, ev.key === "[" ? "start" : "end");
        break;
      }
      case "n": location.href = $("#next-link").href; break;
      case "?": $("#help").open = !$("#help").open; break;
      default:
        if (/^[1-9]$/.test(ev.key) && editable && card && card.f.type === "label") {
          const label = card.f.labels[+ev.key - 1];
          if (label) { $("select", card.editor).value = label; edited(card); }
        } else handled = false;
    }
    if (handled) ev.preventDefault();
  });

  // -- start ------------------------------------------------------------------------------------
  renderFields();
  showDraftState();
  const flashed = sessionStorage.getItem(flashKey);
  if (flashed) { sessionStorage.removeItem(flashKey); say(flashed, "ok"); }
  if (draftBusy()) pollDraft(); else restore();
  window.thinkvlTask = { get task() { return task; }, player, flush, dirty };
})();
