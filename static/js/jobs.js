// Progress of a background job (templates/jobs/job.html): polls the job's status (JSON)
// and fills the bar and the counts; reloads the page once the job has finished.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box || box.getAttribute("data-finished") === "yes") { return; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector(".progress-bar");

  function show(status) {
    bar.style.width = status.percent + "%";
    bar.setAttribute("aria-valuenow", status.percent);
    bar.textContent = status.percent + "%";
    ["state_label", "rows_checked", "rows_written", "rows_total", "error"].forEach(function (name) {
      var field = box.querySelector('[data-field="' + name + '"]');
      if (field) { field.textContent = status[name]; }
    });
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { window.setTimeout(poll, 3000); return; }
        show(status);
        if (status.finished) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  bar.style.width = bar.getAttribute("data-percent") + "%";
  window.setTimeout(poll, 500);
})();
