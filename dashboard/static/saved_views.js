// Saved views of a list (templates/dashboard/list.html, dashboard/web/saved_views.py). The page
// carries only the "Views" and "Save view" buttons: on the first click the views this operator
// may open are fetched from <list>/views.json, and a panel is built under the toolbar, either
// the menu of views (links, and delete buttons for one's own) or the form that saves the list
// as it is (its query string) under a name. Names come from operators: text nodes only.
(function () {
  'use strict';
  var menuButton = document.getElementById('dashboard-views');
  var saveButton = document.getElementById('dashboard-save-view');
  if (!menuButton || !saveButton) { return; }
  var panels = {};
  var data = null;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function load() {
    if (data) { return Promise.resolve(data); }
    return fetch(new URL('views.json', window.location.href), {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (response) { if (!response.ok) { throw new Error(response.statusText); } return response.json(); })
      .then(function (loaded) { data = loaded; return data; });
  }

  function post(path, body, message) {
    var token = document.querySelector('input[name="csrf_token"]');
    body.append('csrf_token', token ? token.value : '');
    return fetch(new URL(path, window.location.href), {
      method: 'POST', body: body, credentials: 'same-origin', headers: {Accept: 'application/json'}
    }).then(function (response) {
      return response.json().catch(function () { return {error: response.statusText}; }).then(function (answer) {
        if (!response.ok) { message.textContent = answer.error || response.statusText; return null; }
        return answer;
      });
    }).catch(function (error) { message.textContent = String(error); return null; });
  }

  function panel(title) {
    var card = element('div', 'card card-body my-2 dashboard-views-panel');
    card.style.maxWidth = '36rem';
    card.appendChild(element('h2', 'h6', title));
    return card;
  }

  function buildMenu(loaded) {
    var text = loaded.text;
    var card = panel(text.title);
    var message = element('span', 'text-danger');
    message.setAttribute('role', 'alert');
    if (!loaded.views.length) { card.appendChild(element('p', 'text-muted mb-0', text.none)); }
    var list = element('ul', 'list-unstyled mb-0');
    loaded.views.forEach(function (view) {
      var item = element('li', 'd-flex align-items-center py-1');
      var link = element('a', 'mr-auto', view.name);
      link.href = view.url;
      item.appendChild(link);
      var about = view.shared ? text.shared.replace('%(role)s', view.shared) : '';
      if (view.owner) { about = (about ? about + ', ' : '') + text.by.replace('%(owner)s', view.owner); }
      if (about) { item.appendChild(element('small', 'text-muted mx-2', about)); }
      if (view.deletable) {
        var remove = element('button', 'btn btn-sm btn-link text-danger py-0', text.delete);
        remove.type = 'button';
        remove.setAttribute('aria-label', text.delete + ': ' + view.name);
        remove.addEventListener('click', function () {
          if (!window.confirm(text.confirm)) { return; }
          post('views/delete', new URLSearchParams({slug: view.slug}), message).then(function (answer) {
            if (answer) { item.remove(); data = null; }
          });
        });
        item.appendChild(remove);
      }
      list.appendChild(item);
    });
    card.appendChild(list);
    card.appendChild(message);
    return card;
  }

  function buildForm(loaded) {
    var text = loaded.text;
    var card = panel(saveButton.textContent);
    var form = element('form', 'form-inline');
    var label = element('label', 'sr-only', text.name);
    label.htmlFor = 'dashboard-view-name';
    var name = element('input', 'form-control form-control-sm mr-2 mb-1');
    name.id = 'dashboard-view-name';
    name.name = 'name';
    name.required = true;
    name.maxLength = 100;
    name.placeholder = text.name;
    form.appendChild(label);
    form.appendChild(name);
    var share = null;
    if (loaded.roles.length) {
      share = element('select', 'custom-select custom-select-sm mr-2 mb-1');
      share.setAttribute('aria-label', text.share);
      share.appendChild(Object.assign(element('option', '', text.private), {value: ''}));
      loaded.roles.forEach(function (role) {
        share.appendChild(Object.assign(element('option', '', text.share + ': ' + role), {value: role}));
      });
      form.appendChild(share);
    }
    var save = element('button', 'btn btn-primary btn-sm mr-2 mb-1', text.save);
    var cancel = element('button', 'btn btn-link btn-sm mb-1', text.cancel);
    cancel.type = 'button';
    form.appendChild(save);
    form.appendChild(cancel);
    var message = element('span', 'text-danger ml-2');
    message.setAttribute('role', 'alert');
    form.appendChild(message);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var body = new URLSearchParams({name: name.value, arguments: window.location.search});
      if (share) { body.append('share', share.value); }
      post('views', body, message).then(function (answer) {
        if (answer) { window.location.assign(answer.url); }
      });
    });
    cancel.addEventListener('click', function () { toggle(saveButton, false); saveButton.focus(); });
    card.appendChild(form);
    return card;
  }

  function toggle(button, show) {
    var card = panels[button.id];
    if (card) { card.hidden = !show; }
    button.setAttribute('aria-expanded', String(show));
  }

  function opener(button, build) {
    button.setAttribute('aria-expanded', 'false');
    button.addEventListener('click', function () {
      var other = button === menuButton ? saveButton : menuButton;
      toggle(other, false);
      var card = panels[button.id];
      if (card && !(button === menuButton && data === null)) {
        toggle(button, card.hidden);
        if (!card.hidden && button === saveButton) { card.querySelector('input').focus(); }
        return;
      }
      button.disabled = true;
      load().then(function (loaded) {
        if (card) { card.remove(); }
        card = build(loaded);
        panels[button.id] = card;
        button.closest('ul').insertAdjacentElement('afterend', card);
        toggle(button, true);
        var field = card.querySelector('input');
        if (field) { field.focus(); }
      }).catch(function (error) { button.title = String(error); })
        .then(function () { button.disabled = false; });
    });
  }

  opener(menuButton, buildMenu);
  opener(saveButton, buildForm);
}());
