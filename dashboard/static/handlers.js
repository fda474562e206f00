// What Flask-Admin's templates did in onclick="" attributes, which a strict
// Content-Security-Policy blocks: templates/admin/ marks the elements with data-*
// attributes instead, and this one listener acts on them.
//   data-dashboard-action="NAME"   bulk action NAME on the checked rows (actions.html)
//   data-dashboard-confirm="TEXT"  ask TEXT before submitting (row delete buttons)
//   data-dashboard-no-follow       a menu entry whose own script does the work (filters)
// Links to "javascript:..." are not followed either: the policy would refuse them.
(function () {
  'use strict';
  if (window.dashboardHandlersBound) { return; }
  window.dashboardHandlersBound = true;

  document.addEventListener('click', function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }

    var action = target.closest('[data-dashboard-action]');
    if (action) {
      event.preventDefault();
      if (window.modelActions) {
        window.modelActions.execute(action.getAttribute('data-dashboard-action'));
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
