// Progressive enhancement: poll the analysis status and update the progress bar without reloading.
(function () {
  "use strict";
  function poll(box) {
    var url = box.getAttribute("data-status-url");
    var bar = document.getElementById("job-progress");
    var statusEl = document.getElementById("job-status");
    var stageEl = document.getElementById("job-stage");
    var errEl = document.getElementById("job-error");
    var reportEl = document.getElementById("job-report");
    var button = document.getElementById("start-analysis");
    function tick() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          statusEl.textContent = s.status;
          stageEl.textContent = (s.status === "queued" || s.status === "running") ? s.stage : "";
          bar.value = s.progress || 0;
          bar.textContent = Math.round((s.progress || 0) * 100) + " %";
          bar.hidden = !(s.status === "queued" || s.status === "running");
          if (s.error) { errEl.textContent = s.error; errEl.hidden = false; }
          if (s.status === "done") {
            reportEl.hidden = false;
            if (button) { button.disabled = false; button.textContent = "Run the analysis again"; }
            return;
          }
          if (s.status === "failed") { if (button) { button.disabled = false; } return; }
          window.setTimeout(tick, 1000);
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    tick();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("job");
    if (box) {
      var st = box.getAttribute("data-status");
      if (st === "queued" || st === "running") { poll(box); }
    }
  });
})();

// Upload progress for large videos and logs: forms marked data-upload-progress are sent with XMLHttpRequest so
// that the bytes sent can be shown; without JavaScript the same forms post normally.
(function () {
  "use strict";
  function mb(bytes) { return (bytes / 1e6).toFixed(1); }
  function bind(form) {
    if (!window.XMLHttpRequest || !window.FormData || form.getAttribute("data-bound")) { return; }
    form.setAttribute("data-bound", "1");
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    var text = box && box.querySelector(".upload-progress-text");
    var cancel = box && box.querySelector(".upload-cancel");
    var submit = form.querySelector("button[type=submit]");
    var xhr = null;
    function reset(message) {
      xhr = null;
      if (submit) { submit.disabled = false; }
      if (box) { box.hidden = !message; }
      if (text) { text.textContent = message || ""; }
      if (cancel) { cancel.hidden = true; }
    }
    if (cancel) {
      cancel.addEventListener("click", function () { if (xhr) { xhr.abort(); } reset("Upload cancelled."); });
    }
    form.addEventListener("submit", function (event) {
      if (!box || !bar) { return; }  // no progress markup: let the browser post the form
      event.preventDefault();
      var section = form.closest("section");
      var anchor = section && section.id ? "#" + section.id : "";
      xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "text/html");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { text.textContent = mb(e.loaded) + " MB sent"; return; }
        var pct = Math.round(100 * e.loaded / e.total);
        bar.value = pct;
        bar.textContent = pct + " %";
        text.textContent = mb(e.loaded) + " of " + mb(e.total) + " MB (" + pct + " %)" +
          (e.loaded >= e.total ? " — checking the file…" : "");
      });
      xhr.addEventListener("load", function () {
        var action = new URL(form.action, window.location.href).pathname;
        var landed = xhr.responseURL ? new URL(xhr.responseURL).pathname : action;
        if (xhr.status < 400 && landed !== action) {  // the server redirected: the upload was accepted
          if (landed === window.location.pathname) {  // same page: a fragment change alone would not reload it
            window.location.hash = anchor;
            window.location.reload();
          } else {
            window.location.assign(xhr.responseURL + anchor);
          }
          return;
        }
        // refused: show the page's message in this section without losing the rest of the page
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var fresh = section && section.id ? doc.getElementById(section.id) : null;
        if (fresh) {
          section.innerHTML = fresh.innerHTML;
          var again = section.querySelector("form[data-upload-progress]");
          if (again) { bind(again); }
        } else {
          reset("The upload failed (" + xhr.status + "). Reload the page and try again.");
        }
      });
      xhr.addEventListener("error", function () { reset("The connection was lost; the file was not uploaded. Try again."); });
      if (submit) { submit.disabled = true; }
      box.hidden = false;
      if (cancel) { cancel.hidden = false; }
      bar.value = 0;
      text.textContent = "Starting the upload…";
      xhr.send(new FormData(form));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-upload-progress]");
    for (var i = 0; i < forms.length; i++) { bind(forms[i]); }
  });
})();
