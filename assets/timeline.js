// The director's timeline (templates/shows/show.html). Every change is sent at once to
// POST /api/shows/{id}/edits (or /undo) with the version this page holds; on success the
// server-rendered fragment of the new version replaces the timeline, table, details and
// history; on 409 the page says another director saved first and changes nothing (reload to
// see their change); on 422 it shows why the running order refused. No framework, no build.
(() => {
  const root = document.getElementById('show');
  if (!root) return;
  const id = root.dataset.id;
  const csrf = root.dataset.csrf;
  const msgs = root.dataset;
  const message = document.getElementById('show-message');
  const area = document.getElementById('timeline-root');
  let selected = null; // item id whose detail is open
  let conflicted = false;
  let busy = false;

  const version = () => Number(area.querySelector('.timeline-state').dataset.version);
  const count = () => Number(area.querySelector('.timeline-state').dataset.count);

  function say(text, kind, reload) {
    message.textContent = text;
    message.className = 'show-message ' + (kind || '');
    message.setAttribute('role', kind === 'error' || kind === 'conflict' ? 'alert' : 'status');
    if (reload) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'reload';
      b.textContent = msgs.msgReload;
      b.addEventListener('click', () => window.location.reload());
      message.append(' ', b);
    }
  }

  async function refresh(v, focusId) {
    const r = await fetch(`/shows/${id}/fragment?version=${v}`, { headers: { Accept: 'text/html' } });
    if (!r.ok) throw new Error(`fragment ${r.status}`);
    area.innerHTML = await r.text();
    wire();
    if (selected !== null) open(selected);
    if (focusId !== undefined && focusId !== null) {
      const row = area.querySelector(`tr.item[data-id="${focusId}"]`);
      if (row) row.focus();
    }
  }

  // Sends one request; `path` is `edits` or `undo`.
  async function send(path, body, focusId) {
    if (conflicted) {
      say(msgs.msgConflict.replace('{version}', message.dataset.current || '?'), 'conflict', true);
      return;
    }
    if (busy) return;
    busy = true;
    say(msgs.msgSaving, 'busy');
    try {
      const r = await fetch(`/api/shows/${id}/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'application/json' },
        body: JSON.stringify({ expected_version: version(), ...body }),
      });
      const answer = await r.json().catch(() => ({}));
      if (r.status === 200) {
        await refresh(answer.version, focusId);
        say(msgs.msgSaved.replace('{version}', answer.version), 'ok');
      } else if (r.status === 409) {
        conflicted = true;
        message.dataset.current = answer.current_version;
        say(msgs.msgConflict.replace('{version}', answer.current_version), 'conflict', true);
      } else if (r.status === 422) {
        say(msgs.msgRefused.replace('{message}', answer.message || ''), 'error');
      } else {
        say(msgs.msgFailed.replace('{message}', answer.message || r.status), 'error');
      }
    } catch (e) {
      say(msgs.msgFailed.replace('{message}', e.message), 'error');
    } finally {
      busy = false;
    }
  }

  const edit = (edits, focusId) => send('edits', { edits }, focusId);
  const ms = (input) => Math.round(parseFloat(input.value) * 1000);
  const itemId = (el) => Number(el.dataset.id);

  function open(itemIdValue) {
    selected = itemIdValue;
    area.querySelectorAll('.detail').forEach((d) => { d.hidden = Number(d.dataset.id) !== itemIdValue; });
    area.querySelectorAll('tr.item, li.block').forEach((el) => {
      el.classList.toggle('selected', itemId(el) === itemIdValue);
    });
  }

  // Drag and drop: rows and blocks are both sources and targets; the drop target's position
  // is where the dragged item ends up.
  let dragged = null;
  function wireDrag(el) {
    el.addEventListener('dragstart', (e) => {
      dragged = itemId(el);
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('text/plain', String(dragged));
    });
    el.addEventListener('dragover', (e) => {
      if (dragged === null) return;
      e.preventDefault();
      el.classList.add('drop-here');
    });
    el.addEventListener('dragleave', () => el.classList.remove('drop-here'));
    el.addEventListener('drop', (e) => {
      e.preventDefault();
      el.classList.remove('drop-here');
      const from = dragged;
      dragged = null;
      const to = Number(el.dataset.index) - 1;
      if (from === null || from === itemId(el)) return;
      edit([{ op: 'move', item: from, to }], from);
    });
    el.addEventListener('dragend', () => { dragged = null; });
  }

  function toggleLock(el) {
    const locked = el.dataset.locked === 'true';
    edit([{ op: 'lock', item: itemId(el), locked: !locked }], itemId(el));
  }

  function wire() {
    area.querySelectorAll('tr.item').forEach((row) => {
      wireDrag(row);
      row.addEventListener('click', () => open(itemId(row)));
      row.addEventListener('focus', () => open(itemId(row)));
      row.addEventListener('keydown', (e) => {
        const index = Number(row.dataset.index) - 1;
        if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
          e.preventDefault();
          const to = index + (e.key === 'ArrowUp' ? -1 : 1);
          if (to < 0 || to >= count()) return;
          edit([{ op: 'move', item: itemId(row), to }], itemId(row));
        } else if (!e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
          e.preventDefault();
          const next = e.key === 'ArrowUp' ? row.previousElementSibling : row.nextElementSibling;
          if (next) next.focus();
        } else if ((e.key === 'l' || e.key === 'L') && !e.ctrlKey && !e.metaKey && !e.altKey) {
          e.preventDefault();
          toggleLock(row);
        } else if (e.key === 'Delete') {
          e.preventDefault();
          const next = row.nextElementSibling || row.previousElementSibling;
          edit([{ op: 'remove', item: itemId(row) }], next ? itemId(next) : null);
        }
      });
    });
    area.querySelectorAll('li.block').forEach((block) => {
      wireDrag(block);
      block.addEventListener('click', () => {
        open(itemId(block));
        const row = area.querySelector(`tr.item[data-id="${itemId(block)}"]`);
        if (row) row.focus();
      });
    });
    area.querySelectorAll('button.toggle-lock').forEach((b) => b.addEventListener('click', () => toggleLock(b)));
    area.querySelectorAll('button.remove').forEach((b) => b.addEventListener('click', () => {
      selected = null;
      edit([{ op: 'remove', item: itemId(b) }]);
    }));
    area.querySelectorAll('form.trim').forEach((f) => f.addEventListener('submit', (e) => {
      e.preventDefault();
      edit([{ op: 'trim', item: itemId(f), in_ms: ms(f.elements.in_s), out_ms: ms(f.elements.out_s) }], itemId(f));
    }));
    area.querySelectorAll('form.host-line').forEach((f) => f.addEventListener('submit', (e) => {
      e.preventDefault();
      edit([{ op: 'set_host_line', item: itemId(f), line: f.elements.line.value, writer: 'director',
        duration_ms: ms(f.elements.duration_s) }], itemId(f));
    }));
    area.querySelectorAll('form.set-duration').forEach((f) => f.addEventListener('submit', (e) => {
      e.preventDefault();
      edit([{ op: 'set_duration', item: itemId(f), duration_ms: ms(f.elements.duration_s) }], itemId(f));
    }));
    const undo = area.querySelector('#undo');
    if (undo) undo.addEventListener('click', () => send('undo', {}));
    const at = document.querySelector('#insert-form input[name=at]');
    if (at) at.max = String(count() + 1);
  }

  const insert = document.getElementById('insert');
  insert.hidden = false;
  document.getElementById('insert-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.target;
    const text = f.elements.text.value;
    const duration_ms = ms(f.elements.duration_s);
    const kinds = {
      host_card: { kind: 'host_card', line: text, language: msgs.lang, writer: 'director', duration_ms },
      break: { kind: 'break', label: text, duration_ms },
      slate: { kind: 'slate', text, duration_ms },
      bumper: { kind: 'bumper', template: 'default', text, duration_ms },
    };
    edit([{ op: 'insert', at: Number(f.elements.at.value) - 1, kind: kinds[f.elements.kind.value] }]);
  });
  wire();
})();
