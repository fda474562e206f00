// Draws the charts of a page with the vendored Chart.js. Each <canvas data-chart="...">
// carries its figures as JSON, written by the server (dashboard/charts.py); nothing here
// builds HTML: Chart.js draws labels and tooltips on the canvas as plain text, so a label
// holding markup is shown as the characters it is.
(function () {
  'use strict';
  if (typeof window.Chart === 'undefined') { return; }

  function draw(canvas) {
    var spec;
    try {
      spec = JSON.parse(canvas.getAttribute('data-chart'));
    } catch (e) {
      return;
    }
    var pie = spec.kind === 'pie';
    new window.Chart(canvas, {
      type: pie ? 'pie' : spec.kind,
      data: {
        labels: spec.labels,
        datasets: [{ label: spec.title, data: spec.values, spanGaps: false }]
      },
      options: {
        // Tick and tooltip numbers in the page's language (1.234,5 in German), as the table beside.
        locale: document.documentElement.lang || undefined,
        responsive: true,
        aspectRatio: 2,
        animation: false,
        plugins: { legend: { display: pie } },
        scales: pie ? {} : { y: { beginAtZero: true } }
      }
    });
    canvas.setAttribute('data-chart-drawn', '1');
  }

  document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    if (!canvas.hasAttribute('data-chart-drawn')) { draw(canvas); }
  });
})();
