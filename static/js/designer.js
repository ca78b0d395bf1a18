// 事项设计: re-render the live preview while the administrator edits the draft (no inline
// script, for the Content-Security-Policy). The server renders the preview with the same
// form builder filers get; this only posts the unsaved page and swaps the fragment in.
(function () {
  "use strict";
  var form = document.getElementById("designer");
  var box = document.getElementById("preview");
  if (!form || !box) return;
  var timer = null;
  function refresh() {
    var data = new FormData(form);
    fetch(form.dataset.preview + "?fragment=1", {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; });
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
