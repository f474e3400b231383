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
          if (s.status === "done") { reportEl.hidden = false; if (button) { button.disabled = false; } return; }
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
