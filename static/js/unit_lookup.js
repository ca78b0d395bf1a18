// 工作单位: search registered units by a keyword of their name and offer them in the
// field's list (name, masked credit code); the chosen name is what the form posts.
(function () {
  document.querySelectorAll('[data-unit-lookup]').forEach(function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    var timer = null;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) return;
      timer = setTimeout(function () {
        fetch(input.dataset.unitLookup + '?q=' + encodeURIComponent(q), {credentials: 'same-origin'})
          .then(function (r) { return r.ok ? r.json() : {units: []}; })
          .then(function (d) {
            list.replaceChildren();
            (d.units || []).forEach(function (u) {
              var option = document.createElement('option');
              option.value = u.name;
              option.label = u.name + '（' + u.uscc + '）';
              list.appendChild(option);
            });
          });
      }, 250);
    });
  });
})();
