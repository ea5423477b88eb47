// One person's session: the API over fetch, and their Socket.IO connection. Tokens stay in
// this object (memory), never in the browser's storage. A 401 is answered by one refresh (rotated
// refresh token; one at a time, since presenting a refresh token twice ends the session),
// then the call is tried again; if the refresh fails too, the person must sign in again.

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
    this.details = (error && error.details) || {};
  }
}

// A refresh that could not reach the API is tried again after 1 s, 2 s, 4 s, then every 5 s.
const RETRY_FIRST_MS = 500;
const RETRY_MOST_MS = 5000;

export class Session {
  constructor({ onEvent, onState, onReconnect }) {
    this.onEvent = onEvent; // (event name, data)
    this.onState = onState; // (text about the socket or the session, ended?)
    this.onReconnect = onReconnect; // (): what was sent while the socket was down is lost
    this.accessToken = null;
    this.refreshToken = null;
    this.user = null;
    this.socket = null;
    this.refreshing = null;
    this.retryTimer = null;
    this.retryDelay = RETRY_FIRST_MS;
  }

  get signedIn() {
    return this.accessToken !== null;
  }

  async signIn(path, body) {
    const data = await this.request("POST", path, body, {}, false);
    this.accessToken = data.accessToken;
    this.refreshToken = data.refreshToken;
    this.user = data.user;
    this.connect();
    return data.user;
  }

  async call(method, path, body, headers = {}) {
    return this.request(method, path, body, headers, true);
  }

  async request(method, path, body, headers, authorized) {
    const response = await this.send(method, path, body, headers, authorized);
    if (response.status === 401 && authorized && (await this.refresh())) {
      return this.unwrap(await this.send(method, path, body, headers, authorized));
    }
    return this.unwrap(response);
  }

  send(method, path, body, headers, authorized) {
    const all = { Accept: "application/json", ...headers };
    if (body !== undefined) all["Content-Type"] = "application/json";
    if (authorized && this.accessToken) all.Authorization = `Bearer ${this.accessToken}`;
    return fetch(path, {
      method, headers: all, body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async unwrap(response) {
    const json = await response.json().catch(() => null);
    if (!response.ok || !json || json.success !== true) {
      throw new ApiError(response.status, json && json.error);
    }
    return json.data;
  }

  refresh() {
    if (!this.refreshToken) return Promise.resolve(false);
    this.refreshing ??= (async () => {
      let response;
      try {
        response = await fetch("/api/auth/refresh", {
          method: "POST", headers: { Authorization: `Bearer ${this.refreshToken}` },
        });
      } catch {
        // The API is out of reach: the session is not ended, only not refreshed yet. Try again
        // (a socket the server ended on its way down does not reconnect by itself).
        this.retryLater();
        return false;
      }
      this.retryDelay = RETRY_FIRST_MS;
      const json = await response.json().catch(() => null);
      if (!response.ok || !json || !json.success) {
        this.forget();
        return false;
      }
      this.accessToken = json.data.accessToken;
      this.refreshToken = json.data.refreshToken;
      if (this.socket && !this.socket.connected) this.socket.connect();
      return true;
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  retryLater() {
    if (this.retryTimer) return;
    this.retryDelay = Math.min((this.retryDelay || RETRY_FIRST_MS) * 2, RETRY_MOST_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.refresh();
    }, this.retryDelay);
  }

  forget() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.accessToken = null;
    this.refreshToken = null;
    if (this.socket) this.socket.disconnect();
    this.socket = null;
    this.onState("session ended: sign in again", true);
  }

  connect() {
    if (this.socket) this.socket.disconnect();
    // Same origin as the page; auth is a function so that a reconnect sends the current token.
    const socket = window.io({
      auth: (send) => send({ token: this.accessToken }),
      transports: ["websocket"],
    });
    let refusals = 0;
    let connectedBefore = false;
    socket.on("connect", () => {
      refusals = 0;
      this.onState("live (Socket.IO connected)");
      // Events are not replayed: after a token's expiry (or any drop) read everything again.
      if (connectedBefore) this.onReconnect();
      connectedBefore = true;
    });
    socket.on("connect_error", () => {
      this.onState("Socket.IO refused the connection");
      if (refusals++ < 2) this.refresh(); // an expired token; twice at most, not a loop
    });
    socket.on("disconnect", (reason) => {
      this.onState(`Socket.IO disconnected (${reason})`);
      // The server ends a socket whose token expired or was revoked: refresh, then reconnect.
      if (reason === "io server disconnect") this.refresh();
    });
    socket.onAny((event, data) => this.onEvent(event, data));
    this.socket = socket;
  }
}
