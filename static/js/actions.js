// Click handlers the templates used to write inline (onclick=..., javascript: links), bound
// here so that the Content-Security-Policy can refuse every inline script.
(function () {
  "use strict";

  // Links that only open a menu or add a filter never navigate: ours say href="#", Flask-Admin's
  // own templates say href="javascript:void(0)", which the CSP refuses to run. Preventing the
  // default action in the capture phase keeps Bootstrap's and Flask-Admin's handlers working.
  document.addEventListener("click", function (event) {
    var link = event.target.closest('a.filter[href="#"], a[data-role="tooltip"][href="#"], ' +
                                    'a.nav-link.active[href="#"], a[data-toggle="dropdown"][href="#"], ' +
                                    'a[href^="javascript:"]');
    if (link) event.preventDefault();
  }, true);

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-action]");
    if (!el) return;
    var action = el.getAttribute("data-action");
    if (action === "print") {
      event.preventDefault();
      window.print();
    } else if (action === "back") {
      event.preventDefault();
      window.history.back();
    }
  });

  // Flask-Admin's own templates still write a few inline handlers (delete confirmation,
  // list actions, filter links). The CSP blocks them, so the same behaviour is bound here.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[onclick]");
    if (!el) return;
    var code = el.getAttribute("onclick") || "";
    var match = code.match(/safeConfirm\('((?:[^'\\]|\\.)*)'\)/);
    if (match) {
      if (!window.confirm(match[1])) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
      return;
    }
    match = code.match(/modelActions\.execute\('([^']*)'\)/);
    if (match && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(match[1]);
      return;
    }
    if (/^\s*return false;?\s*$/.test(code)) event.preventDefault();
  }, true);
})();
