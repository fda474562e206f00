// The navbar's table finder (templates/dashboard/_nav_search.html). The list of tables the
// operator may open is fetched once, on first focus, from dashboard/navigation.py; typing
// filters it, arrow keys move, Enter opens the chosen (or first) table, Escape closes.
// Entries are built with textContent: table names come from the database and are untrusted.
(function () {
  'use strict';
  var form = document.querySelector('.dashboard-nav-search');
  if (!form) { return; }
  var input = form.querySelector('input[type=search]');
  var menu = form.querySelector('.dashboard-nav-results');
  var MAX_SHOWN = 50;
  var tables = null;
  var recent = [];
  var shown = [];
  var active = -1;

  function load() {
    if (tables !== null) { return Promise.resolve(); }
    tables = [];
    return fetch(form.getAttribute('data-tables-url'), {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (response) { return response.ok ? response.json() : {tables: [], recent: []}; })
      .then(function (data) { tables = data.tables || []; recent = data.recent || []; })
      .catch(function () { tables = []; });
  }

  function matches(query) {
    var byId = {};
    tables.forEach(function (table) { byId[table.id] = table; });
    if (!query) {
      var first = recent.map(function (id) { return byId[id]; }).filter(Boolean);
      var rest = tables.filter(function (table) { return recent.indexOf(table.id) === -1; });
      return {recent: first, rest: rest};
    }
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    function hit(table) {
      var text = (table.label + ' ' + table.group + ' ' + table.id).toLowerCase();
      return words.every(function (word) { return text.indexOf(word) !== -1; });
    }
    var found = tables.filter(hit);
    // Recently used tables first, then names that start with what was typed.
    found.sort(function (a, b) {
      var ra = recent.indexOf(a.id), rb = recent.indexOf(b.id);
      if ((ra === -1) !== (rb === -1)) { return ra === -1 ? 1 : -1; }
      if (ra !== rb) { return ra - rb; }
      var pa = a.label.toLowerCase().indexOf(words[0]) === 0, pb = b.label.toLowerCase().indexOf(words[0]) === 0;
      return pa === pb ? 0 : (pa ? -1 : 1);
    });
    return {recent: [], rest: found};
  }

  function header(text) {
    var h = document.createElement('h6');
    h.className = 'dropdown-header';
    h.textContent = text;
    menu.appendChild(h);
  }

  function entry(table) {
    var a = document.createElement('a');
    a.className = 'dropdown-item';
    a.href = table.url;
    a.setAttribute('role', 'option');
    a.id = 'dashboard-nav-option-' + shown.length;
    a.textContent = table.label;
    if (table.group) {
      var group = document.createElement('small');
      group.className = 'text-muted ml-2';
      group.textContent = table.group;
      a.appendChild(group);
    }
    if (table.note) {
      var note = document.createElement('small');
      note.className = 'text-muted font-italic ml-2 dashboard-nav-note';
      note.textContent = table.note;
      a.appendChild(note);
    }
    menu.appendChild(a);
    shown.push(a);
  }

  function render() {
    var found = matches(input.value.trim());
    menu.textContent = '';
    shown = [];
    active = -1;
    if (found.recent.length) {
      header(form.getAttribute('data-recent-label'));
      found.recent.forEach(entry);
      menu.appendChild(Object.assign(document.createElement('div'), {className: 'dropdown-divider'}));
    }
    var lastGroup = null;
    found.rest.slice(0, MAX_SHOWN).forEach(function (table) {
      if (!input.value.trim() && table.group !== lastGroup) { header(table.group); lastGroup = table.group; }
      entry(table);
    });
    if (!shown.length) {
      var none = document.createElement('span');
      none.className = 'dropdown-item-text text-muted';
      none.textContent = form.getAttribute('data-none-label');
      menu.appendChild(none);
    }
    open(true);
  }

  function open(yes) {
    menu.classList.toggle('show', yes);
    input.setAttribute('aria-expanded', yes ? 'true' : 'false');
  }

  function highlight(index) {
    shown.forEach(function (a, i) { a.classList.toggle('active', i === index); });
    active = index;
    if (index >= 0) {
      input.setAttribute('aria-activedescendant', shown[index].id);
      shown[index].scrollIntoView({block: 'nearest'});
    }
  }

  input.addEventListener('focus', function () { load().then(render); });
  input.addEventListener('input', function () { load().then(render); });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!shown.length) { return; }
      var step = event.key === 'ArrowDown' ? 1 : -1;
      highlight((active + step + shown.length) % shown.length);
    } else if (event.key === 'Enter') {
      var chosen = shown[active >= 0 ? active : 0];
      if (chosen && input.value.trim()) {
        event.preventDefault();
        window.location.assign(chosen.href);
      }
    } else if (event.key === 'Escape') {
      open(false);
    }
  });
  document.addEventListener('click', function (event) {
    if (!form.contains(event.target)) { open(false); }
  });
})();
