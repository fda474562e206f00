// A table's Import page (dashboard/web/import_page.py, templates/dashboard/import.html).
// The upload form is sent with XMLHttpRequest so its progress can be shown; the answer is
// followed like a form's (the preview's address), or its error shown. The write step says it
// is busy (handlers.js keeps it from being sent twice). No inline script: the page's CSP allows none.
(function () {
  'use strict';

  function showError(form, text) {
    var box = document.querySelector('.dashboard-import-error');
    if (!box) {
      box = document.createElement('div');
      box.className = 'alert alert-danger dashboard-import-error';
      box.setAttribute('role', 'alert');
      form.parentNode.insertBefore(box, form);
    }
    box.textContent = text;
  }

  var upload = document.getElementById('dashboard-import-upload');
  if (upload && window.XMLHttpRequest && window.FormData) {
    upload.addEventListener('submit', function (event) {
      event.preventDefault();
      // A file over the size cap is refused before a byte of it is sent.
      var chosen = upload.querySelector('input[type=file]').files[0];
      var most = Number(upload.getAttribute('data-dashboard-max-bytes'));
      if (chosen && most && chosen.size > most) {
        showError(upload, upload.getAttribute('data-dashboard-too-large'));
        return;
      }
      var progress = document.getElementById('dashboard-import-progress');
      var bar = progress.querySelector('.progress-bar');
      var button = upload.querySelector('button[type=submit]');
      var request = new XMLHttpRequest();
      progress.classList.remove('d-none');
      button.disabled = true;
      request.upload.addEventListener('progress', function (step) {
        if (step.lengthComputable) {
          var percent = Math.round(100 * step.loaded / step.total);
          bar.style.width = percent + '%';
          bar.setAttribute('aria-valuenow', String(percent));
          bar.textContent = percent + '%';
        }
      });
      request.addEventListener('load', function () {
        if (request.status === 200 && request.responseURL && request.responseURL.indexOf('upload=') > 0) {
          window.location.assign(request.responseURL);
          return;
        }
        // The server's page says why: its error message, read as text.
        var page = new DOMParser().parseFromString(request.responseText, 'text/html');
        var said = page.querySelector('.dashboard-import-error');
        showError(upload, said ? said.textContent : upload.getAttribute('data-dashboard-failed'));
        progress.classList.add('d-none');
        button.disabled = false;
      });
      request.addEventListener('error', function () {
        showError(upload, upload.getAttribute('data-dashboard-failed'));
        progress.classList.add('d-none');
        button.disabled = false;
      });
      request.open('POST', upload.action);
      request.send(new FormData(upload));
    });
  }

  var form = document.getElementById('dashboard-import-form');
  if (form) {
    form.addEventListener('submit', function (event) {
      var pressed = event.submitter;
      // A second submit is stopped by handlers.js (data-dashboard-sent), which also says "Sending".
      if (!pressed || pressed.value !== 'write' || form.getAttribute('data-dashboard-sent')) { return; }
      // A disabled button is not sent: its step goes in a field of its own.
      var step = document.createElement('input');
      step.type = 'hidden';
      step.name = 'step';
      step.value = 'write';
      form.appendChild(step);
      pressed.disabled = true;
      pressed.textContent = form.getAttribute('data-dashboard-writing');
      pressed.classList.add('dashboard-import-busy');
    });
  }
})();
