// loaxa console: the little script the pages use (they work without it): live updates by
// server-sent events, uploads with a progress bar each, drag and drop, the chain
// verification's progress. No inline script anywhere: the Content-Security-Policy forbids it.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";

  // Live region: refetch the page when the daemon publishes a change.
  const live = document.getElementById("live");
  if (live && window.EventSource) {
    let busy = false;
    const refresh = () => {
      if (busy) return;
      busy = true;
      fetch(location.href, { credentials: "same-origin" })
        .then((r) => r.text())
        .then((html) => {
          const doc = new DOMParser().parseFromString(html, "text/html");
          const fresh = doc.getElementById("live");
          if (fresh) live.innerHTML = fresh.innerHTML;
        })
        .finally(() => { busy = false; });
    };
    const es = new EventSource(live.dataset.live);
    es.addEventListener("change", refresh);
    // Progress bars move between events too.
    setInterval(() => { if (live.querySelector("progress")) refresh(); }, 1000);
  }

  // Uploads: one request per file, each with its own progress bar.
  const form = document.getElementById("upload-form");
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  if (drop && input) {
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      input.files = e.dataTransfer.files;
    });
  }
  if (form && input && window.XMLHttpRequest) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const folder = form.querySelector('select[name="folder"]').value;
      const list = document.getElementById("progress");
      Array.from(input.files).forEach((file) => {
        const row = document.createElement("div");
        row.className = "upload-row";
        const bar = document.createElement("progress");
        bar.max = 100; bar.value = 0;
        const label = document.createElement("span");
        label.textContent = file.name;
        row.append(bar, label);
        list.append(row);
        const data = new FormData();
        data.append("folder", folder);
        data.append("file", file, file.name);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", "/library/upload");
        xhr.setRequestHeader("X-CSRF-Token", csrf);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", (ev) => {
          if (ev.lengthComputable) bar.value = Math.round((ev.loaded * 100) / ev.total);
        });
        xhr.addEventListener("load", () => {
          let msg = xhr.statusText;
          try { msg = JSON.parse(xhr.responseText).map((r) => r.message).join("; "); } catch (_) { msg = xhr.responseText.replace(/<[^>]*>/g, " ").trim(); }
          bar.value = 100;
          label.textContent = file.name + " — " + msg;
          label.className = xhr.status === 200 ? "ok upload-done" : "bad upload-failed";
        });
        xhr.addEventListener("error", () => { label.textContent = file.name + " — ✗"; label.className = "bad upload-failed"; });
        xhr.send(data);
      });
    });
  }

  // The province's compose form: a commune picked on the map is ticked in the list.
  document.querySelectorAll("svg.map.pick circle[data-station]").forEach((c) => {
    const box = document.querySelector('input[name="to"][value="' + c.dataset.station + '"]');
    if (!box) return;
    const show = () => c.setAttribute("stroke", box.checked ? "#000000" : "#ffffff");
    c.style.cursor = "pointer";
    c.addEventListener("click", () => { box.checked = !box.checked; show(); });
    box.addEventListener("change", show);
  });

  // The chain verification's progress.
  const verify = document.getElementById("verify");
  if (verify) {
    const bar = document.getElementById("verify-progress");
    const pct = document.getElementById("verify-percent");
    const result = document.getElementById("verify-result");
    const poll = () => {
      fetch(verify.dataset.poll, { credentials: "same-origin" })
        .then((r) => r.json())
        .then((s) => {
          bar.value = s.percent; pct.textContent = s.percent + "%";
          if (s.result) result.textContent = s.result;
          if (s.running) setTimeout(poll, 300);
        });
    };
    poll();
  }
})();
