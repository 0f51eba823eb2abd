// The panel: one WebSocket carries the JSON form of every INDI element (docs/web.md); BLOBs
// are fetched by URL. Everything is drawn from `devices`, which the server refills on connect.
'use strict';
const $ = (id) => document.getElementById(id);
const devices = new Map(); // device → Map(vector name → vector)
const cards = new Map(); // device\0vector → card element
const history = new Map(); // device\0vector\0member → recent values of read-only numbers
let current = { device: null, groups: new Map() };
let socket = null;
let role = 'viewer';
let csrf = '';
let retry = 1;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function log(text, kind = '') {
  const list = $('messages');
  list.prepend(el('li', { class: kind }, text));
  while (list.children.length > 300) list.lastChild.remove();
}

// ---- connection ----

async function start() {
  const response = await fetch('/session', { credentials: 'same-origin' }).catch(() => null);
  if (response?.status === 401) return showLogin('');
  if (!response?.ok) return later();
  const session = await response.json();
  csrf = session.csrf;
  $('who').textContent = session.login ? `${session.user} (${session.role})` : '';
  $('logout').hidden = !session.login;
  connect();
}

function showLogin(error) {
  $('panel').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = error;
  setConn('signed out', 'Idle');
}

function setConn(text, state) {
  $('conn').textContent = text;
  $('conn').className = `badge state-${state}`;
}

function later() {
  setConn(`reconnecting in ${retry} s`, 'Alert');
  setTimeout(start, retry * 1000);
  retry = Math.min(retry * 2, 10);
}

function connect() {
  socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  socket.onopen = () => {
    retry = 1;
    devices.clear();
    $('login').hidden = true;
    $('panel').hidden = false;
    setConn('connected', 'Ok');
    draw();
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = () => {
    socket = null;
    later();
  };
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch('/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: form.get('user'), password: form.get('password') }),
  });
  if (response.ok) {
    event.target.reset();
    start();
  } else {
    const body = await response.json().catch(() => ({}));
    $('login-error').textContent = body.error ?? `sign-in failed (${response.status})`;
  }
});

$('logout').addEventListener('click', async () => {
  await fetch('/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
  socket?.close();
});

function send(vector, members) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return log('not connected', 'error');
  socket.send(JSON.stringify({ type: 'new', kind: vector.kind, device: vector.device, name: vector.name, members }));
  vector.state = 'Busy';
  paintState(vector);
}

// ---- model ----

function receive(msg) {
  switch (msg.type) {
    case 'hello':
      role = msg.role;
      break;
    case 'def': {
      if (!devices.has(msg.device)) devices.set(msg.device, new Map());
      devices.get(msg.device).set(msg.name, msg);
      for (const member of msg.members) remember(msg, member);
      scheduleDraw();
      break;
    }
    case 'set': {
      const vector = devices.get(msg.device)?.get(msg.name);
      if (!vector) return;
      for (const key of ['state', 'timestamp', 'message', 'timeout']) if (msg[key] !== undefined) vector[key] = msg[key];
      for (const update of msg.members) {
        const member = vector.members.find((m) => m.name === update.name);
        if (member) Object.assign(member, update);
        if (member) remember(vector, member);
      }
      refresh(vector);
      break;
    }
    case 'del':
      if (msg.name) devices.get(msg.device)?.delete(msg.name);
      else devices.delete(msg.device);
      if (msg.message) log(`${msg.timestamp ?? ''} ${msg.device}: ${msg.message}`);
      scheduleDraw();
      break;
    case 'message':
      log(`${msg.timestamp ?? ''} ${msg.device ? `${msg.device}: ` : ''}${msg.message ?? ''}`);
      break;
    case 'error':
      log(`refused: ${msg.message}`, 'error');
      break;
  }
}

function remember(vector, member) {
  if (vector.kind !== 'number' || vector.perm !== 'ro' || typeof member.value !== 'number') return;
  const key = `${vector.device}\0${vector.name}\0${member.name}`;
  const values = history.get(key) ?? [];
  values.push(member.value);
  if (values.length > 120) values.shift();
  history.set(key, values);
}

// ---- drawing ----

let drawing = false;
function scheduleDraw() {
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(() => {
    drawing = false;
    draw();
  });
}

function tabs(container, names, active, choose) {
  container.replaceChildren(...names.map((name) => el('button', { type: 'button', class: name === active ? 'active' : '', onclick: () => choose(name) }, name)));
}

function draw() {
  const names = [...devices.keys()].sort();
  if (!devices.has(current.device)) current.device = names[0] ?? null;
  tabs($('devices'), names, current.device, (name) => {
    current.device = name;
    draw();
  });
  const vectors = current.device ? [...devices.get(current.device).values()] : [];
  // Definition order, but Main Control first (where drivers put CONNECTION), as KStars shows it.
  const groups = [...new Set(vectors.map((v) => v.group))].sort((a, b) => (b === 'Main Control') - (a === 'Main Control'));
  let group = current.groups.get(current.device);
  if (!groups.includes(group)) group = groups[0];
  tabs($('groups'), groups, group, (name) => {
    current.groups.set(current.device, name);
    draw();
  });
  cards.clear();
  $('vectors').replaceChildren(
    ...vectors
      .filter((v) => v.group === group)
      .map((vector) => {
        const node = card(vector);
        cards.set(`${vector.device}\0${vector.name}`, node);
        return node;
      }),
  );
}

function refresh(vector) {
  const old = cards.get(`${vector.device}\0${vector.name}`);
  if (!old) return;
  // Keep what the user is typing: redraw values only, unless no input has focus in this card.
  if (old.contains(document.activeElement) && document.activeElement.tagName !== 'BUTTON') {
    paintState(vector);
    for (const node of old.querySelectorAll('[data-value]')) {
      const member = vector.members.find((m) => m.name === node.dataset.value);
      if (member) node.textContent = member.text ?? member.value ?? '';
    }
    return;
  }
  const node = card(vector);
  old.replaceWith(node);
  cards.set(`${vector.device}\0${vector.name}`, node);
}

function paintState(vector) {
  const node = cards.get(`${vector.device}\0${vector.name}`);
  const dot = node?.querySelector('.vhead .dot');
  if (dot) dot.className = `dot state-${vector.state}`;
}

function card(vector) {
  const writable = vector.perm !== 'ro' && role === 'operator';
  const body = { text: textMembers, number: numberMembers, switch: switchMembers, light: lightMembers, blob: blobMembers }[vector.kind](vector, writable);
  return el(
    'div',
    { class: `vector kind-${vector.kind}`, 'data-device': vector.device, 'data-name': vector.name },
    el('div', { class: 'vhead' }, el('span', { class: `dot state-${vector.state}`, title: vector.state }), el('b', {}, vector.label), el('span', { class: 'ts' }, vector.timestamp ?? '')),
    vector.message ? el('div', { class: 'vmsg' }, vector.message) : null,
    ...body,
  );
}

function setButton(vector, collect) {
  return el('div', { class: 'actions' }, el('button', { type: 'button', onclick: () => collect() }, 'Set'));
}

function textMembers(vector, writable) {
  const inputs = [];
  const rows = vector.members.map((m) => {
    const long = (m.value ?? '').length > 40 || (m.value ?? '').includes('\n');
    const input = writable ? el(long ? 'textarea' : 'input', { name: m.name, rows: long ? 3 : undefined }) : null;
    if (input) {
      input.value = m.value ?? '';
      inputs.push([m, input]);
    }
    return el('div', { class: 'member' }, el('span', { class: 'label' }, m.label), el('span', { class: 'value', 'data-value': m.name }, m.value ?? ''), input ?? el('span'));
  });
  if (writable) rows.push(setButton(vector, () => send(vector, inputs.map(([m, input]) => ({ name: m.name, value: input.value })))));
  return rows;
}

/** Decimal or sexagesimal (`-12:30:15`, `5 30 0`) text as a number; NaN if neither. */
function parseNumber(text) {
  const t = text.trim();
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  const parts = t.split(/[:\s]+/);
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[-+]?\d*\.?\d+$/.test(p))) return NaN;
  const negative = parts[0].startsWith('-');
  const value = parts.reduce((sum, part, i) => sum + Math.abs(Number(part)) / 60 ** i, 0);
  return negative ? -value : value;
}

function numberMembers(vector, writable) {
  const inputs = [];
  const rows = vector.members.map((m) => {
    let extra = el('span');
    if (writable) {
      const range = m.min < m.max ? `${m.min} … ${m.max}${m.step ? `, step ${m.step}` : ''}` : '';
      const input = el('input', { name: m.name, inputmode: 'decimal', placeholder: m.text ?? '', title: range });
      input.value = (m.text ?? '').trim();
      const hint = el('span', { class: 'problem error', 'data-problem': m.name, 'aria-live': 'polite' });
      input.addEventListener('input', () => show(input, hint, problem(m, input.value)));
      input.addEventListener('keydown', (event) => {
        if ((event.key === 'ArrowUp' || event.key === 'ArrowDown') && m.step > 0 && !Number.isNaN(parseNumber(input.value))) {
          event.preventDefault();
          let value = parseNumber(input.value) + (event.key === 'ArrowUp' ? m.step : -m.step);
          if (m.min < m.max) value = Math.min(m.max, Math.max(m.min, value));
          input.value = String(Number(value.toPrecision(12)));
          show(input, hint, problem(m, input.value));
        }
      });
      inputs.push([m, input, hint]);
      extra = el('span', { class: 'entry' }, input, hint);
    } else if (vector.perm === 'ro') {
      extra = plot(history.get(`${vector.device}\0${vector.name}\0${m.name}`) ?? []);
    }
    return el('div', { class: 'member' }, el('span', { class: 'label' }, m.label), el('span', { class: 'value', 'data-value': m.name }, m.text ?? ''), extra);
  });
  if (writable) {
    rows.push(
      setButton(vector, () => {
        const bad = inputs.map(([m, input, hint]) => [m, show(input, hint, problem(m, input.value))]).filter(([, why]) => why);
        if (bad.length) return log(`${vector.label}: ${bad.map(([m, why]) => `${m.label} ${why}`).join('; ')}`, 'error');
        send(vector, inputs.map(([m, input]) => ({ name: m.name, value: input.value.trim() })));
      }),
    );
  }
  return rows;
}

function show(input, hint, why) {
  input.classList.toggle('invalid', Boolean(why));
  input.setAttribute('aria-invalid', why ? 'true' : 'false');
  hint.textContent = why ?? '';
  return why;
}

/**
 * Why `text` is not a value the member takes, or null: a number (decimal or sexagesimal), within
 * min … max when min < max, and min + k·step when step > 0 and min is itself on the step grid.
 * A min off that grid (libindi's CCD exposure: 0.01 … 3600, step 1) means the driver uses step as
 * the arrow keys' increment only, and takes any value in range (0.5 s).
 */
function problem(member, text) {
  const value = parseNumber(text);
  const ranged = member.min < member.max;
  if (Number.isNaN(value) || (ranged && (value < member.min || value > member.max))) {
    return `must be a number${ranged ? ` in ${member.min} … ${member.max}` : ''}`;
  }
  const step = member.step;
  if (!(step > 0)) return null;
  const base = Number.isFinite(member.min) ? member.min : 0;
  if (!onGrid(base / step)) return null;
  const k = (value - base) / step;
  if (onGrid(k)) return null;
  const near = (n) => Number((base + n * step).toPrecision(12));
  const below = near(Math.floor(k));
  const above = near(Math.ceil(k));
  const options = [below, above].filter((v) => !ranged || (v >= member.min && v <= member.max));
  return `must be ${base} + a multiple of ${step}${options.length ? ` (nearest: ${options.join(' or ')})` : ''}`;
}

/** Whether `k` is a whole number: decimal steps (0.1) are not exact in binary, so allow rounding error. */
function onGrid(k) {
  return Math.abs(k - Math.round(k)) <= 1e-9 * Math.max(1, Math.abs(k));
}

function plot(values) {
  const canvas = el('canvas', { class: 'plot', width: 120, height: 30 });
  if (values.length < 2) return canvas;
  const context = canvas.getContext('2d');
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  context.strokeStyle = '#58a6ff';
  context.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * 119;
    const y = 28 - (hi > lo ? ((v - lo) / (hi - lo)) * 26 : 13);
    if (i === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  });
  context.stroke();
  return canvas;
}

function switchMembers(vector, writable) {
  if (vector.rule === 'AnyOfMany') {
    return [
      el(
        'div',
        { class: 'switches' },
        ...vector.members.map((m) =>
          el(
            'label',
            {},
            el('input', { type: 'checkbox', name: m.name, checked: m.value === 'On', disabled: !writable, onchange: (e) => send(vector, [{ name: m.name, value: e.target.checked ? 'On' : 'Off' }]) }),
            ` ${m.label}`,
          ),
        ),
      ),
    ];
  }
  const click = (member) => {
    // OneOfMany: the chosen one On, the others Off; AtMostOne: a second click turns it Off.
    const on = vector.rule === 'AtMostOne' && member.value === 'On' ? null : member.name;
    send(vector, vector.members.map((m) => ({ name: m.name, value: m.name === on ? 'On' : 'Off' })));
  };
  return [
    el(
      'div',
      { class: 'switches' },
      ...vector.members.map((m) => el('button', { type: 'button', name: m.name, class: m.value === 'On' ? 'on' : '', disabled: !writable, onclick: () => click(m) }, m.label)),
    ),
  ];
}

function lightMembers(vector) {
  return [el('div', {}, ...vector.members.map((m) => el('span', { class: 'light' }, el('span', { class: `dot state-${m.value}` }), m.label)))];
}

// ---- BLOBs ----

const images = new Map(); // url → drawn element, so a redraw does not fetch again

function blobMembers(vector) {
  return vector.members.map((m) => {
    const box = el('div', { class: 'blob member-blob' }, el('span', { class: 'label' }, m.label));
    if (!m.url) return box;
    box.append(el('div', {}, el('a', { href: m.url, download: `${m.name}${m.format}` }, `download ${m.format} (${m.size} bytes)`)));
    const format = (m.format ?? '').toLowerCase();
    if (['.jpg', '.jpeg', '.png'].includes(format)) box.append(el('img', { src: m.url, alt: m.label }));
    else if (['.fits', '.fit', '.fts'].includes(format)) box.append(fitsView(m.url));
    return box;
  });
}

function fitsView(url) {
  if (images.has(url)) return images.get(url);
  const canvas = el('canvas', { class: 'image' });
  const low = el('input', { type: 'range', min: 0, max: 50, step: 0.05, value: 0.25, 'aria-label': 'black point' });
  const high = el('input', { type: 'range', min: 50, max: 100, step: 0.05, value: 99.9, 'aria-label': 'white point' });
  const status = el('span', {}, 'loading…');
  const view = el('div', { class: 'fits' }, el('div', { class: 'stretch' }, 'black', low, 'white', high, status), canvas);
  images.clear();
  images.set(url, view);
  fetch(url)
    .then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.arrayBuffer();
    })
    .then((buffer) => {
      const image = Fits.parse(buffer);
      const redraw = () => {
        const { lo, hi, median } = Fits.levels(image, Number(low.value), Number(high.value));
        Fits.render(image, canvas, lo, hi, median);
        status.textContent = `${image.width}×${image.height}, ${image.bitpix} bits, ${lo.toFixed(0)} … ${hi.toFixed(0)}`;
        canvas.dataset.drawn = url;
      };
      low.addEventListener('input', redraw);
      high.addEventListener('input', redraw);
      redraw();
    })
    .catch((error) => {
      status.textContent = `cannot show: ${error.message}`;
    });
  return view;
}

start();
