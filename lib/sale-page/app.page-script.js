// The live sale page: a seller logs in and watches each coupon (left over time, grabs per second)
// and pauses or resumes it. It uses only the public API (api.md) and refreshes every second.
(() => {
  const REFRESH_MS = 1000;
  const LIST_EVERY_MS = 5000;
  const HISTORY = 600;
  const $ = (id) => document.getElementById(id);
  const state = {
    token: sessionStorage.getItem('seckill.token') || '',
    seller: sessionStorage.getItem('seckill.seller') || '',
    coupons: new Map(),
    listedAt: 0,
    refreshing: false,
  };

  async function call(method, path, body) {
    const headers = { 'content-type': 'application/json' };
    if (state.token) headers.authorization = state.token;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body: json };
  }

  const enc = encodeURIComponent;
  const couponPath = (name) => `api/users/${enc(state.seller)}/coupons/${enc(name)}`;

  function showError(message) {
    $('error').textContent = message || '';
  }

  function showLoggedIn() {
    const inside = Boolean(state.token);
    $('login').hidden = inside;
    $('logout').hidden = !inside;
    $('who').textContent = inside ? `seller ${state.seller}` : '';
    if (!inside) {
      $('coupons').replaceChildren();
      state.coupons.clear();
    }
  }

  async function login(event) {
    event.preventDefault();
    const username = $('username').value.trim();
    const res = await call('POST', 'api/auth', { username, password: $('password').value });
    if (res.status !== 200) return showError(res.body?.errMsg || `login failed (${res.status})`);
    if (res.body.kind !== 'saler') return showError('Only sellers can watch their sale here.');
    state.token = res.headers.get('authorization') || '';
    state.seller = username;
    sessionStorage.setItem('seckill.token', state.token);
    sessionStorage.setItem('seckill.seller', username);
    $('password').value = '';
    showError('');
    state.listedAt = 0;
    showLoggedIn();
    refresh();
  }

  async function logout() {
    await call('POST', 'api/auth/logout').catch(() => {});
    state.token = '';
    sessionStorage.removeItem('seckill.token');
    showLoggedIn();
  }

  /** Every coupon of the seller, all pages. */
  async function listCoupons() {
    const names = [];
    for (let page = 1; ; page++) {
      const res = await call('GET', `api/users/${enc(state.seller)}/coupons?page=${page}`);
      if (res.status === 204) break;
      if (res.status === 401) return logout();
      if (res.status !== 200) throw new Error(res.body?.errMsg || `listing failed (${res.status})`);
      for (const c of res.body.data) names.push(c.name);
      if (res.body.data.length < 20) break;
    }
    for (const name of names) if (!state.coupons.has(name)) addCard(name);
  }

  function addCard(name) {
    const card = document.createElement('section');
    card.className = 'coupon';
    card.dataset.coupon = name;
    card.innerHTML = `
      <h2><span class="name"></span><span class="status"></span></h2>
      <div class="figures"><span>left <b class="left">-</b> of <b class="amount">-</b></span>
        <span class="window"></span></div>
      <div class="chart"></div>
      <div class="outcomes"></div>
      <div class="controls">
        <button type="button" class="pause">Pause</button>
        <button type="button" class="resume">Resume</button>
      </div>`;
    card.querySelector('.name').textContent = name;
    card.querySelector('.pause').addEventListener('click', () => control(name, 'pause'));
    card.querySelector('.resume').addEventListener('click', () => control(name, 'resume'));
    $('coupons').append(card);
    // Registered before the chart is drawn, so a failure below never adds the card twice.
    const entry = { card, chart: undefined, history: [] };
    state.coupons.set(name, entry);
    entry.chart = new uPlot(
      {
        width: Math.max(300, card.clientWidth - 24),
        height: 200,
        scales: {
          x: { time: true },
          n: { range: (_u, _min, max) => [0, Math.max(1, max)] },
          rate: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
        series: [
          {},
          { label: 'left', scale: 'n', stroke: '#2563eb', width: 2 },
          { label: 'granted/s', scale: 'rate', stroke: '#16a34a', width: 1.5 },
          { label: 'rejected/s', scale: 'rate', stroke: '#dc2626', width: 1.5 },
        ],
        axes: [{}, { scale: 'n', label: 'left' }, { scale: 'rate', side: 1, label: 'grabs/s', grid: { show: false } }],
      },
      [[], [], [], []],
      card.querySelector('.chart'),
    );
  }

  async function control(name, action) {
    const res = await call('POST', `${couponPath(name)}/${action}`);
    if (res.status !== 200) return showError(res.body?.errMsg || `${action} failed (${res.status})`);
    showError('');
    await refreshCoupon(name);
  }

  async function refreshCoupon(name) {
    const entry = state.coupons.get(name);
    const res = await call('GET', `${couponPath(name)}/stats`);
    if (res.status === 401) return logout();
    if (res.status !== 200) throw new Error(res.body?.errMsg || `stats failed (${res.status})`);
    const s = res.body;
    const now = Date.now() / 1000;
    entry.history.push([now, s.left]);
    if (entry.history.length > HISTORY) entry.history.shift();
    const { card } = entry;
    card.querySelector('.left').textContent = String(s.left);
    card.querySelector('.amount').textContent = String(s.amount);
    const status = card.querySelector('.status');
    const ms = Date.now();
    const waiting = s.startsAt && ms < Date.parse(s.startsAt);
    const ended = s.endsAt && ms >= Date.parse(s.endsAt);
    status.textContent = s.paused
      ? 'paused'
      : waiting
        ? 'not started'
        : ended
          ? 'ended'
          : s.left === 0
            ? 'sold out'
            : 'on sale';
    status.className = `status${s.paused ? ' paused' : waiting || ended ? ' waiting' : ''}`;
    card.dataset.paused = String(s.paused);
    card.querySelector('.window').textContent =
      s.startsAt || s.endsAt ? `window ${s.startsAt || '…'} – ${s.endsAt || '…'}` : '';
    card.querySelector('.outcomes').textContent = Object.entries(s.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ');
    card.querySelector('.pause').disabled = s.paused;
    card.querySelector('.resume').disabled = !s.paused;
    // One x axis: the seconds of perSecond; `left` is the last value seen at or before each second.
    const xs = s.perSecond.map((p) => Date.parse(p.t) / 1000);
    let h = 0;
    let last = null;
    const lefts = xs.map((x) => {
      while (h < entry.history.length && entry.history[h][0] < x + 1) last = entry.history[h++][1];
      return last;
    });
    entry.chart?.setData([xs, lefts, s.perSecond.map((p) => p.granted), s.perSecond.map((p) => p.rejected)]);
  }

  async function refresh() {
    // One refresh at a time: a slow answer must not make the next tick list (and add) coupons twice.
    if (!state.token || state.refreshing) return;
    state.refreshing = true;
    try {
      if (Date.now() - state.listedAt > LIST_EVERY_MS) {
        await listCoupons();
        state.listedAt = Date.now();
      }
      await Promise.all([...state.coupons.keys()].map(refreshCoupon));
      $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
      if ($('error').dataset.kind === 'refresh') showError('');
    } catch (e) {
      showError(String(e.message || e));
      $('error').dataset.kind = 'refresh';
    } finally {
      state.refreshing = false;
    }
  }

  $('login').addEventListener('submit', (e) => {
    login(e).catch((err) => showError(String(err.message || err)));
  });
  $('logout').addEventListener('click', () => logout());
  showLoggedIn();
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
