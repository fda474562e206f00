// The home page's search (templates/dashboard/home.html): filters the relations of every group
// as the operator types, as the navbar's finder matches them (every word in the name or the
// group), unfolds the groups holding a match and hides the others; Enter opens the first
// match. Emptied, it restores the groups as the page came. Text is set with textContent only.
(function () {
  'use strict';
  var input = document.getElementById('dashboard-table-filter');
  if (!input) { return; }
  var count = document.getElementById('dashboard-table-count');
  var groups = Array.prototype.slice.call(document.querySelectorAll('.dashboard-table-group'));
  var unfolded = groups.map(function (group) { return group.open; });

  function filter() {
    var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    var total = 0;
    groups.forEach(function (group, index) {
      var label = group.getAttribute('data-group') || '';
      var hits = 0;
      group.querySelectorAll('tbody tr').forEach(function (row) {
        var text = row.getAttribute('data-name') + ' ' + label;
        var hit = words.every(function (word) { return text.indexOf(word) !== -1; });
        row.hidden = !hit;
        hits += hit ? 1 : 0;
      });
      total += group.querySelectorAll('tbody tr').length;
      shown += hits;
      group.hidden = hits === 0;
      group.open = words.length ? hits > 0 : unfolded[index];
    });
    if (!words.length) {
      count.textContent = '';
    } else if (!shown) {
      count.textContent = count.getAttribute('data-none');
    } else {
      count.textContent = count.getAttribute('data-matches').replace('{shown}', shown).replace('{total}', total);
    }
  }

  input.addEventListener('input', filter);
  input.form.addEventListener('submit', function (event) {
    var first = document.querySelector('.dashboard-table-group:not([hidden]) tbody tr:not([hidden]) a');
    if (first && input.value.trim()) {
      event.preventDefault();
      window.location.assign(first.href);
    }
  });
  if (input.value.trim()) { filter(); }
})();
