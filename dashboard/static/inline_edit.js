// Editing a value of a list in place (dashboard/web/table_cells.py has the server's side).
// The list's table names, once for the page, the URL that reads and saves a value
// (data-dashboard-cells) and the keys of the columns the operator may change there
// (data-dashboard-editable); a cell is found by its class "col-<key>", its row's key in the
// row's check box or in its details or edit link. Nothing is added to the page per row: this
// script marks the editable cells (focusable, class "dashboard-inline": CSS shows a pencil
// on hover). A double-click, or Enter on a focused cell, asks the server for the value as
// the edit form shows it and the row's fingerprint; Enter or "Save" posts it, Escape or
// "Cancel" puts the cell back. The server answers with the cell as the list renders it, or
// with a message shown under the field (a refused value, a row changed meanwhile).
(function () {
  'use strict';
  var table = document.querySelector('table.model-list[data-dashboard-cells]');
  if (!table) { return; }
  var endpoint = table.getAttribute('data-dashboard-cells');
  var editable = (table.getAttribute('data-dashboard-editable') || '').split(' ').filter(Boolean);
  var texts = {};

  function columnOf(cell) {
    for (var i = 0; i < cell.classList.length; i++) {
      var name = cell.classList[i];
      if (name.indexOf('col-') === 0 && editable.indexOf(name.slice(4)) !== -1) { return name.slice(4); }
    }
    return null;
  }

  function rowKey(row) {
    var box = row.querySelector('input.action-checkbox');
    if (box) { return box.value; }
    var links = row.querySelectorAll('a[href]');
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute('href');
      if (href.indexOf('details/?') === 0 || href.indexOf('edit/?') === 0) {
        return new URL(href, window.location.href).searchParams.get('id');
      }
    }
    return null;
  }

  table.querySelectorAll('tbody td').forEach(function (cell) {
    if (columnOf(cell) && rowKey(cell.parentElement) !== null) {
      cell.classList.add('dashboard-inline');
      cell.tabIndex = 0;
    }
  });

  function message(cell, text, kind) {
    var note = cell.querySelector('.dashboard-inline-message');
    if (!note) {
      note = document.createElement('div');
      note.className = 'dashboard-inline-message small';
      note.setAttribute('role', 'alert');
      cell.appendChild(note);
    }
    note.className = 'dashboard-inline-message small ' + (kind || 'text-danger');
    note.textContent = text;
  }

  function answer(response) {
    return response.text().then(function (body) {
      var data = null;
      try { data = JSON.parse(body); } catch (e) { data = null; }
      return { status: response.status, data: data };
    });
  }

  function restore(cell) {
    var kept = cell.dashboardInline;
    if (!kept) { return; }
    cell.replaceChildren.apply(cell, kept.nodes);
    cell.classList.remove('dashboard-inline-editing');
    delete cell.dashboardInline;
    cell.focus();
  }

  function show(cell, html) {
    // The server's rendering of the cell, escaped there: parsed as a separate document, so
    // nothing in it runs, then moved into the cell.
    var parsed = new DOMParser().parseFromString('<body>' + html, 'text/html');
    delete cell.dashboardInline;
    cell.classList.remove('dashboard-inline-editing');
    cell.replaceChildren.apply(cell, Array.prototype.slice.call(parsed.body.childNodes));
    cell.focus();
  }

  function field(data) {
    var input;
    if (data.choices) {
      input = document.createElement('select');
      data.choices.forEach(function (choice) {
        var option = document.createElement('option');
        option.value = choice[0];
        option.textContent = choice[1];
        input.appendChild(option);
      });
    } else {
      input = document.createElement('input');
      input.type = 'text';
      if (data.placeholder) { input.placeholder = data.placeholder; }
    }
    input.className = 'form-control form-control-sm dashboard-inline-field';
    input.value = data.value;
    return input;
  }

  function save(cell) {
    var kept = cell.dashboardInline;
    if (!kept || kept.sending) { return; }
    kept.sending = true;
    var body = new URLSearchParams();
    body.set('csrf_token', kept.token);
    body.set('id', kept.id);
    body.set('column', kept.column);
    body.set('value', kept.input.value);
    body.set('fingerprint', kept.fingerprint);
    fetch(endpoint, {
      method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'application/json' }
    }).then(answer).then(function (result) {
      kept.sending = false;
      var data = result.data;
      if (result.status === 200 && data && typeof data.html === 'string') {
        show(cell, data.html);
        return;
      }
      message(cell, data && data.error ? data.error : texts.failed || String(result.status));
      if (result.status === 409 && data && data.fingerprint) {
        // Changed by someone else: their value is shown; saving again overwrites it knowingly.
        kept.fingerprint = data.fingerprint;
        var now = document.createElement('div');
        now.className = 'dashboard-inline-message small text-muted';
        now.textContent = (texts.now || '') + ' ' + data.value;
        cell.appendChild(now);
      }
    }, function () {
      kept.sending = false;
      message(cell, texts.failed || '');
    });
  }

  function start(cell) {
    if (cell.dashboardInline) { return; }
    var id = rowKey(cell.parentElement);
    var column = columnOf(cell);
    if (id === null || !column) { return; }
    cell.querySelectorAll('.dashboard-inline-message').forEach(function (note) { note.remove(); });
    var kept = { id: id, column: column, nodes: Array.prototype.slice.call(cell.childNodes) };
    cell.dashboardInline = kept;
    var url = endpoint + '?' + new URLSearchParams({ id: id, column: column }).toString();
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(answer).then(
      function (result) {
        var data = result.data;
        if (cell.dashboardInline !== kept) { return; }
        if (!data) {
          // Not an answer of cell/ (a session that expired answers with the login page):
          // the page read afresh says what it is.
          window.location.reload();
          return;
        }
        if (result.status !== 200) {
          message(cell, data.error || String(result.status));
          delete cell.dashboardInline;
          return;
        }
        texts = data.texts || texts;
        kept.token = data.csrf_token;
        kept.fingerprint = data.fingerprint;
        kept.input = field(data);
        var saveButton = document.createElement('button');
        saveButton.type = 'button';
        saveButton.className = 'btn btn-primary btn-sm dashboard-inline-save';
        saveButton.textContent = texts.save;
        saveButton.addEventListener('click', function () { save(cell); });
        var cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'btn btn-link btn-sm dashboard-inline-cancel';
        cancel.textContent = texts.cancel;
        cancel.addEventListener('click', function () { restore(cell); });
        cell.classList.add('dashboard-inline-editing');
        cell.replaceChildren(kept.input, saveButton, cancel);
        kept.input.focus();
      },
      function () {
        delete cell.dashboardInline;
        message(cell, texts.failed || '');
      }
    );
  }

  table.addEventListener('dblclick', function (event) {
    var cell = event.target instanceof Element ? event.target.closest('td.dashboard-inline') : null;
    if (cell && !cell.dashboardInline) {
      event.preventDefault();
      start(cell);
    }
  });

  table.addEventListener('keydown', function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var cell = target ? target.closest('td.dashboard-inline') : null;
    if (!cell) { return; }
    if (cell.dashboardInline && cell.dashboardInline.input) {
      if (event.key === 'Escape') {
        event.preventDefault();
        restore(cell);
      } else if (event.key === 'Enter' && target === cell.dashboardInline.input) {
        event.preventDefault();
        save(cell);
      }
    } else if (event.key === 'Enter' && target === cell) {
      event.preventDefault();
      start(cell);
    }
  });
})();
