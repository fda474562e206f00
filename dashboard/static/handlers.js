// What Flask-Admin's templates did in onclick="" attributes, which a strict
// Content-Security-Policy blocks: templates/admin/ marks the elements with data-*
// attributes instead, and this one listener acts on them.
//   data-dashboard-action="NAME"   bulk action NAME on the checked rows (actions.html); a
//                                  confirmation holding "{count}" is asked with the number
//                                  of checked rows in it (Flask-Admin would show it as is)
//   data-dashboard-confirm="TEXT"  ask TEXT before submitting (row delete buttons)
//   data-dashboard-no-follow       a menu entry whose own script does the work (filters)
// Links to "javascript:..." are not followed either: the policy would refuse them.
(function () {
  'use strict';
  if (window.dashboardHandlersBound) { return; }
  window.dashboardHandlersBound = true;

  // Flask-Admin's actions.js, for a confirmation that says how many rows it is about.
  function submitCounted(name) {
    var data = document.getElementById('actions-confirmation-data');
    var form = document.getElementById('action_form');
    var checked = document.querySelectorAll('input.action-checkbox:checked');
    var message = data ? JSON.parse(data.textContent)[name] : null;
    if (!form || !checked.length || typeof message !== 'string' || message.indexOf('{count}') < 0) {
      return false;
    }
    if (window.confirm(message.split('{count}').join(String(checked.length)))) {
      form.querySelector('[name=action]').value = name;
      form.querySelectorAll('input.action-checkbox').forEach(function (box) { box.remove(); });
      checked.forEach(function (box) { form.appendChild(box.cloneNode()); });
      form.submit();
    }
    return true;
  }

  document.addEventListener('click', function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }

    var action = target.closest('[data-dashboard-action]');
    if (action) {
      event.preventDefault();
      var name = action.getAttribute('data-dashboard-action');
      if (!submitCounted(name) && window.modelActions) {
        window.modelActions.execute(name);
      }
      return;
    }

    var confirming = target.closest('[data-dashboard-confirm]');
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

    var link = target.closest('[data-dashboard-no-follow], a[href^="javascript:"]');
    if (link) { event.preventDefault(); }
  }, true);
})();
