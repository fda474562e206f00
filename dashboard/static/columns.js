// The list's "Columns" chooser (templates/dashboard/list.html, dashboard/web/column_choices.py).
// The page carries only the button: on the first click the table's columns are fetched from
// <list>/columns.json and a checklist is built under the toolbar, one row a column with up
// and down buttons to reorder it. Save posts the ticked names in their order (with the CSRF
// token of the page's language form) and reloads the list; Reset drops the choice.
// Column names and labels come from the database and are untrusted: text nodes only.
(function () {
  'use strict';
  var button = document.getElementById('dashboard-columns');
  if (!button) { return; }
  var panel = null;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function post(body, message) {
    var token = document.querySelector('input[name="csrf_token"]');
    body.append('csrf_token', token ? token.value : '');
    return fetch(new URL('columns', window.location.href), {
      method: 'POST', body: body, credentials: 'same-origin', headers: {Accept: 'application/json'}
    }).then(function (response) {
      return response.json().catch(function () { return {error: response.statusText}; }).then(function (data) {
        if (response.ok) { window.location.reload(); } else { message.textContent = data.error || response.statusText; }
      });
    }).catch(function (error) { message.textContent = String(error); });
  }

  function row(column, text) {
    var item = element('li', 'd-flex align-items-center py-1');
    item.setAttribute('data-name', column.name);
    var label = element('label', 'mb-0 mr-auto');
    var box = element('input', 'mr-2');
    box.type = 'checkbox';
    box.checked = column.shown;
    label.appendChild(box);
    label.appendChild(document.createTextNode(column.label));
    if (column.label !== column.name) { label.title = column.name; }
    item.appendChild(label);
    [['up', '\u2191'], ['down', '\u2193']].forEach(function (move) {
      var arrow = element('button', 'btn btn-sm btn-link py-0', move[1]);
      arrow.type = 'button';
      arrow.title = text[move[0]];
      arrow.setAttribute('aria-label', text[move[0]] + ': ' + column.label);
      arrow.setAttribute('data-move', move[0]);
      item.appendChild(arrow);
    });
    return item;
  }

  function build(data) {
    var text = data.text;
    panel = element('div', 'card card-body my-2 dashboard-columns-panel');
    panel.style.maxWidth = '36rem';  // the arrows beside their names, not across a wide screen
    panel.appendChild(element('h2', 'h6', text.title));
    var list = element('ol', 'list-unstyled mb-2');
    data.columns.forEach(function (column) { list.appendChild(row(column, text)); });
    list.addEventListener('click', function (event) {
      var arrow = event.target.closest('button[data-move]');
      if (!arrow) { return; }
      var item = arrow.closest('li');
      if (arrow.getAttribute('data-move') === 'up' && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (arrow.getAttribute('data-move') === 'down' && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      }
      arrow.focus();
    });
    panel.appendChild(list);
    var actions = element('div');
    var save = element('button', 'btn btn-primary btn-sm mr-2', text.save);
    var reset = element('button', 'btn btn-secondary btn-sm mr-2', text.reset);
    var cancel = element('button', 'btn btn-link btn-sm', text.cancel);
    var message = element('span', 'text-danger ml-2');
    message.setAttribute('role', 'alert');
    [save, reset, cancel].forEach(function (b) { b.type = 'button'; actions.appendChild(b); });
    actions.appendChild(message);
    panel.appendChild(actions);
    save.addEventListener('click', function () {
      var body = new URLSearchParams();
      list.querySelectorAll('li').forEach(function (item) {
        if (item.querySelector('input').checked) { body.append('columns', item.getAttribute('data-name')); }
      });
      if (!body.has('columns')) { message.textContent = text.none; return; }
      post(body, message);
    });
    reset.addEventListener('click', function () { post(new URLSearchParams({reset: '1'}), message); });
    cancel.addEventListener('click', function () {
      panel.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      button.focus();
    });
    button.closest('ul').insertAdjacentElement('afterend', panel);
  }

  button.setAttribute('aria-expanded', 'false');
  button.addEventListener('click', function () {
    if (panel) {
      panel.hidden = !panel.hidden;
      button.setAttribute('aria-expanded', String(!panel.hidden));
      return;
    }
    button.disabled = true;
    fetch(new URL('columns.json', window.location.href), {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (response) { if (!response.ok) { throw new Error(response.statusText); } return response.json(); })
      .then(build)
      .then(function () { button.setAttribute('aria-expanded', 'true'); })
      .catch(function (error) { button.title = String(error); })
      .then(function () { button.disabled = false; });
  });
}());
