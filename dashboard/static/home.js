// Filters the home page's table list as the operator types.
(function () {
  var input = document.getElementById('dashboard-table-filter');
  if (!input) { return; }
  function filter() {
    var wanted = input.value.trim().toLowerCase();
    document.querySelectorAll('.dashboard-tables tbody tr').forEach(function (row) {
      row.style.display = row.getAttribute('data-name').indexOf(wanted) === -1 ? 'none' : '';
    });
  }
  input.addEventListener('input', filter);
  filter();  // the navbar search without JavaScript arrives here with ?q=
})();
