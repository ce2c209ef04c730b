// The upload page: sends the chosen file with tus-js-client (assets/vendor/tus.min.js) to the
// studio's tus endpoint, tied to one submission (metadata submission_id). Shows progress,
// retries by itself after a network drop (retryDelays, and again when the browser is back
// online), and resumes an earlier upload of the same file for the same submission after a page
// reload (fingerprint + findPreviousUploads). Texts come from data-t-* attributes (both languages).
(function () {
  'use strict';
  var box = document.getElementById('uploader');
  if (!box || !window.tus) { return; }
  var fileInput = document.getElementById('file');
  var startButton = document.getElementById('start');
  var progress = document.getElementById('progress');
  var statusLine = document.getElementById('status');
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var submissionId = box.dataset.submissionId;
  var maxBytes = Number(box.dataset.maxBytes || 0);
  var upload = null;
  var running = false;

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? 'error' : 'muted';
  }

  function videoType(file) {
    return file.type && file.type.indexOf('video/') === 0 ? file.type : 'video/mp4';
  }

  fileInput.addEventListener('change', function () {
    var file = fileInput.files[0];
    startButton.disabled = !file;
    say('');
    if (file && maxBytes && file.size > maxBytes) {
      startButton.disabled = true;
      say(box.dataset.tTooLarge, true);
    }
  });

  function begin() {
    if (running) { return; }
    if (upload) { running = true; upload.start(); return; }
    var file = fileInput.files[0];
    if (!file) { return; }
    upload = new tus.Upload(file, {
      endpoint: box.dataset.endpoint,
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      headers: { 'X-CSRF-Token': csrfMeta ? csrfMeta.content : '' },
      metadata: { filename: file.name, filetype: videoType(file), submission_id: submissionId },
      // One stored resume point per submission and file.
      fingerprint: function (f) {
        return Promise.resolve(['gala', submissionId, f.name, f.type, f.size, f.lastModified].join('|'));
      },
      removeFingerprintOnSuccess: true,
      onProgress: function (sent, total) {
        var percent = total ? Math.floor((sent / total) * 100) : 0;
        progress.hidden = false;
        progress.value = percent;
        say(box.dataset.tUploading.replace('{percent}', String(percent)));
      },
      onShouldRetry: function (err, attempt, options) {
        say(box.dataset.tRetrying);
        var status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        // Refusals (too large, wrong type, not allowed) do not get better by retrying.
        return !(status >= 400 && status < 500 && status !== 409 && status !== 423);
      },
      onError: function (err) {
        running = false;
        startButton.disabled = false;
        var body = err.originalResponse ? err.originalResponse.getBody() : '';
        var message = '';
        try { message = JSON.parse(body).message || ''; } catch (e) { message = ''; }
        say(box.dataset.tError + ' ' + (message || String(err.message || err)), true);
      },
      onSuccess: function () {
        running = false;
        progress.value = 100;
        say(box.dataset.tDone);
        fileInput.disabled = true;
        startButton.disabled = true;
        window.setTimeout(function () { window.location.assign(box.dataset.doneHref); }, 1500);
      }
    });
    running = true;
    startButton.disabled = true;
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length > 0) {
        upload.resumeFromPreviousUpload(previous[0]);
        say(box.dataset.tResumed);
      }
      upload.start();
    });
  }

  startButton.addEventListener('click', begin);
  // Back online after the retries ran out: carry on from the server's offset.
  window.addEventListener('online', function () {
    if (upload && !running && !fileInput.disabled) { begin(); }
  });
})();
