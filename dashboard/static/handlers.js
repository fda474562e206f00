// What Flask-Admin's templates did in onclick="" attributes, which a strict
// Content-Security-Policy blocks: templates/admin/ marks the elements with data-*
// attributes instead, and this one listener acts on them.
//   data-dashboard-action="NAME"   bulk action NAME on the checked rows (actions.html; this
//                                  replaces Flask-Admin's actions.js); a confirmation holding
//                                  "{count}" is asked with the number of checked rows in it
//   data-dashboard-confirm="TEXT"  ask TEXT before submitting (on a button, or on the form a
//                                  row's delete button points at with form="...")
//   data-dashboard-no-follow       a menu entry whose own script does the work (filters)
//   data-dashboard-busy="TEXT"     long work behind a link (exact counts, exports): TEXT is
//                                  shown with a spinner until the next page, or for a while
//                                  after a download starts (data-dashboard-busy-download)
// A POST form says it is being sent and ignores a second click while the first is on
// its way (the server refuses the duplicate too; this spares the operator the message).
// Links to "javascript:..." are not followed either: the policy would refuse them.
(function () {
  'use strict';
  if (window.dashboardHandlersBound) { return; }
  window.dashboardHandlersBound = true;

  // Flask-Admin's actions.js, which this replaces: run bulk action NAME on the checked rows,
  // after its confirmation, with "{count}" in it replaced by the number of rows. The row
  // boxes have no name (bytes in every row): the copies posted are named "rowid".
  // The page's one form (templates/dashboard/list.html) is copied, not changed: a row's delete
  // button must still post it to the delete URL, also after "back" restores this page.
  function runAction(name) {
    var rows = document.getElementById('dashboard-delete');
    var checked = document.querySelectorAll('input.action-checkbox:checked');
    if (!rows || !rows.hasAttribute('data-dashboard-actions')) { return; }
    if (!checked.length) {
      var none = document.getElementById('message-data');
      window.alert(none ? JSON.parse(none.textContent) : '');
      return;
    }
    var data = document.getElementById('actions-confirmation-data');
    var message = data ? JSON.parse(data.textContent)[name] : null;
    if (typeof message === 'string' && message &&
        !window.confirm(message.split('{count}').join(String(checked.length)))) {
      return;
    }
    var form = rows.cloneNode(true);
    form.removeAttribute('id');
    form.removeAttribute('data-dashboard-confirm');
    form.action = rows.getAttribute('data-dashboard-actions');
    form.hidden = true;
    var action = document.createElement('input');
    action.type = 'hidden';
    action.name = 'action';
    action.value = name;
    form.appendChild(action);
    checked.forEach(function (box) {
      var copy = box.cloneNode();
      copy.name = 'rowid';
      copy.type = 'hidden';
      form.appendChild(copy);
    });
    document.body.appendChild(form);
    form.submit();
  }

  // The navbar's language menu: one button per language, each named in itself, from the
  // form's list (templates/dashboard/_language.html). textContent: names are text.
  document.querySelectorAll('form[data-dashboard-languages]').forEach(function (form) {
    var current = form.getAttribute('data-dashboard-current');
    JSON.parse(form.getAttribute('data-dashboard-languages')).forEach(function (language) {
      var button = document.createElement('button');
      button.name = 'locale';
      button.value = language[0];
      button.lang = language[0].replace(/_/g, '-');
      button.className = 'dropdown-item' + (language[0] === current ? ' active' : '');
      if (language[0] === current) { button.setAttribute('aria-current', 'true'); }
      button.textContent = language[1];
      form.appendChild(button);
    });
  });

  // The header's box checks or clears every row's.
  document.addEventListener('change', function (event) {
    var toggle = event.target;
    if (!(toggle instanceof HTMLInputElement) || !toggle.classList.contains('action-rowtoggle')) { return; }
    document.querySelectorAll('input.action-checkbox').forEach(function (box) { box.checked = toggle.checked; });
  });

  var busyTimer = null;

  function busyStatus() {
    var status = document.getElementById('dashboard-busy');
    if (!status) {
      status = document.createElement('div');
      status.id = 'dashboard-busy';
      status.className = 'dashboard-busy alert alert-info shadow';
      status.setAttribute('role', 'status');
      status.setAttribute('aria-live', 'polite');
      var spinner = document.createElement('span');
      spinner.className = 'spinner-border spinner-border-sm';
      spinner.setAttribute('aria-hidden', 'true');
      status.appendChild(spinner);
      status.appendChild(document.createElement('span'));
      document.body.appendChild(status);
    }
    return status;
  }

  function showBusy(text, forSeconds) {
    var status = busyStatus();
    // textContent: a translated text is shown as text, never parsed as markup.
    status.lastChild.textContent = ' ' + text;
    status.hidden = false;
    window.clearTimeout(busyTimer);
    if (forSeconds) { busyTimer = window.setTimeout(hideBusy, forSeconds * 1000); }
  }

  function hideBusy() {
    var status = document.getElementById('dashboard-busy');
    if (status) { status.hidden = true; }
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || '').toLowerCase() !== 'post') { return; }
    if (form.getAttribute('data-dashboard-sent')) {
      event.preventDefault();
      return;
    }
    // Later listeners (a confirmation) may still cancel the submit: look once it has run.
    window.setTimeout(function () {
      if (event.defaultPrevented) { return; }
      form.setAttribute('data-dashboard-sent', '1');
      var text = document.documentElement.getAttribute('data-dashboard-sending');
      if (text) { showBusy(text); }
    }, 0);
  });

  // Back to a page kept by the browser's back/forward cache: nothing is under way any more.
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) { return; }
    hideBusy();
    document.querySelectorAll('form[data-dashboard-sent]').forEach(function (form) {
      form.removeAttribute('data-dashboard-sent');
    });
  });

  document.addEventListener('click', function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }

    var action = target.closest('[data-dashboard-action]');
    if (action) {
      event.preventDefault();
      runAction(action.getAttribute('data-dashboard-action'));
      return;
    }

    var confirming = target.closest('[data-dashboard-confirm]');
    // A row's delete button submits the page's one delete form (form="..."), which asks.
    var submitter = target.closest('button[form]');
    if (!confirming && submitter && submitter.form && submitter.form.hasAttribute('data-dashboard-confirm')) {
      confirming = submitter.form;
    }
    if (confirming) {
      var ok = false;
      try {
        ok = window.confirm(confirming.getAttribute('data-dashboard-confirm'));
      } catch (e) {
        ok = false;
      }
      if (!ok) { event.preventDefault(); }
      return;
    }

    var busy = target.closest('[data-dashboard-busy]');
    if (busy && !event.defaultPrevented && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      showBusy(busy.getAttribute('data-dashboard-busy'),
               busy.hasAttribute('data-dashboard-busy-download') ? 10 : 0);
    }

    var link = target.closest('[data-dashboard-no-follow], a[href^="javascript:"]');
    if (link) { event.preventDefault(); }
  }, true);
})();
