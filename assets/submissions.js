// Live status on the submissions list and detail pages: listens to /submissions/events
// (server-sent events) and updates each [data-submission] element's two status axes. When a
// clip becomes ready (poster and preview exist now) the page reloads to show them.
(function () {
  'use strict';
  var live = document.querySelector('[data-live]');
  if (!live || !window.EventSource) { return; }
  var source = new EventSource(live.getAttribute('data-live'));
  source.addEventListener('status', function (message) {
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    var items = document.querySelectorAll('[data-submission="' + String(Number(data.id)) + '"]');
    Array.prototype.forEach.call(items, function (item) {
      var processing = item.querySelector('.processing');
      var before = processing ? processing.className : '';
      if (processing) {
        processing.textContent = data.processing_label;
        processing.className = 'processing state-' + data.processing;
      }
      var selection = item.querySelector('.selection');
      if (selection) {
        selection.textContent = data.selection_label;
        selection.className = 'selection state-' + data.selection;
      }
      var reason = item.querySelector('.reason');
      if (reason) { reason.textContent = data.processing_reason || ''; }
      if (data.processing === 'ready' && before.indexOf('state-ready') < 0) {
        window.location.reload();
      }
    });
  });
})();
