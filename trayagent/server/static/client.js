// trayagent client: a dependency-free ES module for web apps that read Thai
// national ID cards through the trayagent on this PC.
//
//   import { TrayAgentClient } from "./client.js";
//   const agent = new TrayAgentClient();
//   agent.on("card", ({ card }) => fillForm(card));
//   agent.on("photo", ({ photo }) => showPhoto(photo.data_url));
//   agent.on("removed", () => clearForm());
//   agent.on("state", ({ state }) => showState(state));
//   agent.connect();
//
// The protocol is documented in docs/protocol.md and this module in
// docs/javascript-client.md. Card data is passed to handlers as parsed
// JSON; put it on the page with textContent or form values, never innerHTML.

/** The WebSocket address of an agent started with its default port. */
export const DEFAULT_URL = "ws://127.0.0.1:17432/ws";

/** The states a page shows, in `client.state` and the `state` event. */
export const States = Object.freeze({
  CONNECTING: "connecting",
  AGENT_NOT_RUNNING: "agent-not-running",
  WAITING_FOR_APPROVAL: "waiting-for-approval",
  BLOCKED: "blocked",
  NO_READER: "no-reader",
  READY: "ready",
  CARD_IN: "card-in",
});

// The agent closes a connection from a site it does not allow with 1008
// (policy violation).
const CLOSE_POLICY_VIOLATION = 1008;

// The agent closes a connection that keeps sending more messages than it
// accepts with 4029. The site is still allowed, so the client reconnects,
// but only after the longest retry delay, so that a page stuck in a loop
// does not flood the agent again at once.
const CLOSE_RATE_LIMITED = 4029;

// The optional parts of a card, by the message that carries each; the
// part's name is also the message's field and the client's event.
const PARTS = Object.freeze({ "card.laser": "laser", "card.nhso": "nhso" });

// Return `{ [part]: data, error }` from a card.laser or card.nhso message,
// or from a hello reader's entry of that part. The data is null and
// `error` is `{ code, message }` when the part could not be read.
function partOf(part, source) {
  return { [part]: source[part] ?? null, error: source.error ?? null };
}

// A reader's fields while it contains no card that has been read.
const NO_CARD = Object.freeze({ card: null, photo: null, laser: null, nhso: null });

// Reader states from the agent that mean a card is in the reader.
const CARD_STATES = new Set(["present", "reading", "read", "error", "mute"]);

const DEFAULTS = Object.freeze({
  url: DEFAULT_URL,
  photo: true,
  // Reconnect delays in milliseconds: doubling from the first, capped at
  // the maximum, each multiplied by a random factor from 0.5 to 1 so that
  // many tabs do not reconnect in step.
  retryDelay: 500,
  maxRetryDelay: 10000,
  // Failed connection attempts in a row before the state becomes
  // agent-not-running or blocked. Retries go on after that.
  attemptsBeforeNotRunning: 3,
  // Milliseconds a read() waits for its card.read before it rejects.
  readTimeout: 20000,
});

/** An error from the agent (its `code` and `message`) or from the client. */
export class TrayAgentError extends Error {
  constructor(code, message, reader = null) {
    super(message);
    this.name = "TrayAgentError";
    this.code = code;
    this.reader = reader;
  }
}

/**
 * A connection to the agent that reconnects by itself.
 *
 * Events, each with one argument (`on(type, handler)` or addEventListener,
 * where the argument is `event.detail`):
 *
 * - `state`: `{ state, previous }` whenever `client.state` changes;
 * - `card`: `{ reader, card, message }` for each card read, and for each
 *   card already read when the client connects;
 * - `photo`: `{ reader, photo, message }` likewise for photos;
 * - `laser`: `{ reader, laser, error, message }` for each laser ID read,
 *   when the agent's `read_laser_id` setting is on; `laser` is null and
 *   `error` is `{ code, message }` when it could not be read;
 * - `nhso`: `{ reader, nhso, error, message }` likewise for the NHSO
 *   health-insurance data, when `read_nhso` is on;
 * - `removed`: `{ reader }` when a card leaves: clear the form;
 * - `card-error`: `{ reader, code, message }` when reading a card fails;
 * - `message`: every message from the agent, and each message by its own
 *   `type` (`hello`, `card.inserted`, `card.read`, `access`, ...).
 */
export class TrayAgentClient extends EventTarget {
  constructor(options = {}) {
    super();
    this.options = { ...DEFAULTS, ...options };
    this.state = States.CONNECTING;
    this.hello = null;
    this.access = null;
    this.service = "starting";
    this.readers = new Map();
    this._socket = null;
    this._stopped = true;
    this._failures = 0;
    this._retryTimer = null;
    this._nextId = 1;
    this._pending = new Map();
    this._lastRead = new Map();
  }

  /** Subscribe to an event; returns a function that unsubscribes. */
  on(type, handler) {
    const listener = (event) => handler(event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  /** Open the connection, and keep it open until close(). */
  connect() {
    if (!this._stopped) return this;
    this._stopped = false;
    this._failures = 0;
    this._open();
    return this;
  }

  /** Close the connection and stop reconnecting. */
  close() {
    this._stopped = true;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    const socket = this._socket;
    this._socket = null;
    if (socket) socket.close(1000);
    this._rejectPending("DISCONNECTED", "The client was closed.");
  }

  /**
   * Ask the agent to read the card now.
   *
   * Resolves with the `card.read` message that replies to this request, or
   * rejects with a TrayAgentError: the agent's `error` or `card.error`
   * code (NO_CARD, NOT_THAI_ID_CARD, CARD_REMOVED, ...), or NOT_CONNECTED,
   * DISCONNECTED or TIMEOUT from the client.
   *
   * @param {{reader?: string, timeout?: number}} [request]
   */
  read({ reader, timeout = this.options.readTimeout } = {}) {
    const id = this._nextId++;
    const message = { type: "read", id };
    if (reader) message.reader = reader;
    return new Promise((resolve, reject) => {
      if (!this._send(message)) {
        reject(new TrayAgentError("NOT_CONNECTED", "The agent is not connected."));
        return;
      }
      const timer = setTimeout(() => {
        this._pending.delete(id);
        const text = "The agent did not answer the read in time.";
        reject(new TrayAgentError("TIMEOUT", text));
      }, timeout);
      this._pending.set(id, { resolve, reject, timer });
    });
  }

  /** Whether a card is in any reader. */
  get cardIn() {
    return this.state === States.CARD_IN;
  }

  // Connection

  _url() {
    if (this.options.photo) return this.options.url;
    const url = new URL(this.options.url);
    url.searchParams.set("photo", "0");
    return url.toString();
  }

  _open() {
    let socket;
    try {
      socket = new WebSocket(this._url());
    } catch {
      this._failed(null);
      return;
    }
    this._socket = socket;
    this._gotHello = false;
    socket.addEventListener("message", (event) => this._onFrame(socket, event));
    socket.addEventListener("close", (event) => this._onClose(socket, event));
  }

  _onClose(socket, event) {
    if (socket !== this._socket) return;
    this._socket = null;
    this._rejectPending("DISCONNECTED", "The connection to the agent was lost.");
    // A held connection that closes is no longer waiting: the agent stopped,
    // or restarted without a tray and now rejects the site.
    const wasWaiting = this.access !== null;
    this.access = null;
    if (this._stopped) return;
    if (wasWaiting && event.code !== CLOSE_POLICY_VIOLATION) {
      this._setState(States.CONNECTING);
    }
    this._failed(event.code);
  }

  _failed(code) {
    // Once blocked, every retry stays slow until a connection succeeds,
    // whether the agent closes with 1008 or refuses the handshake (403).
    const blocked = code === CLOSE_POLICY_VIOLATION || this.state === States.BLOCKED;
    const slowly = blocked || code === CLOSE_RATE_LIMITED;
    if (code === CLOSE_POLICY_VIOLATION) {
      this._setState(States.BLOCKED);
    } else if (this._gotHello) {
      // A connection that worked and dropped: the agent restarts, or the
      // PC wakes from sleep. Retry at once, and show "connecting".
      this._failures = 0;
      this._setState(States.CONNECTING);
    } else {
      this._failures += 1;
      if (this._failures >= this.options.attemptsBeforeNotRunning) this._probe();
    }
    this._scheduleRetry(slowly);
  }

  // A browser reports a refused handshake like a refused connection, and
  // hides its HTTP status: 403 for a site the agent does not allow, 503
  // when the agent is full. Two requests to /api/status tell them apart.
  // A CORS request succeeds only for an allowed site, whose handshake
  // failed for another reason (503), so the client keeps "connecting"
  // unless the response is a readable 403. A no-cors request resolves,
  // with an opaque response, whenever the agent responds at all, so the
  // site is blocked; else the agent is not running.
  _probe() {
    const url = new URL(this.options.url);
    url.protocol = url.protocol === "wss:" ? "https:" : "http:";
    url.pathname = "/api/status";
    url.search = "";
    fetch(url, { cache: "no-store" })
      .then(
        (response) => (response.status === 403 ? States.BLOCKED : States.CONNECTING),
        () =>
          fetch(url, { mode: "no-cors", cache: "no-store" }).then(
            () => States.BLOCKED,
            () => States.AGENT_NOT_RUNNING,
          ),
      )
      .then((state) => this._afterProbe(state));
  }

  _afterProbe(state) {
    if (!this._stopped && !this._gotHello && this.access === null) {
      this._setState(state);
    }
  }

  _scheduleRetry(slowly) {
    const { retryDelay, maxRetryDelay } = this.options;
    const steps = slowly ? 30 : Math.max(0, this._failures - 1);
    const capped = Math.min(maxRetryDelay, retryDelay * 2 ** Math.min(steps, 30));
    const delay = capped * (0.5 + Math.random() / 2);
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      if (!this._stopped) this._open();
    }, delay);
  }

  _send(message) {
    const socket = this._socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || !this._gotHello) {
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  // Messages

  _onFrame(socket, event) {
    if (socket !== this._socket || typeof event.data !== "string") return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    this._apply(message);
    this._emit("message", message);
    this._emit(message.type, message);
    this._answer(message);
    this._announce(message);
    this._updateState();
  }

  _apply(message) {
    const readers = this.readers;
    switch (message.type) {
      case "hello":
        this._gotHello = true;
        this._failures = 0;
        this.hello = message;
        this.access = null;
        this.service = message.service?.state ?? "starting";
        readers.clear();
        this._lastRead.clear();
        for (const reader of message.readers ?? []) {
          readers.set(reader.name, { ...reader });
          if (reader.card) {
            const read = { type: "card.read", reader: reader.name, card: reader.card };
            this._lastRead.set(reader.name, read);
          }
        }
        break;
      case "access":
        this.access = message.state === "pending" ? message : null;
        break;
      case "service":
        this.service = message.state;
        break;
      case "reader.added":
        readers.set(message.reader, { name: message.reader, state: "empty" });
        break;
      case "reader.removed":
        readers.delete(message.reader);
        this._lastRead.delete(message.reader);
        break;
      case "card.inserted":
        this._setReader(message.reader, { state: "present", ...NO_CARD });
        this._lastRead.delete(message.reader);
        break;
      case "card.read":
        this._setReader(message.reader, { state: "read", card: message.card });
        this._lastRead.set(message.reader, message);
        break;
      case "card.photo":
        this._setReader(message.reader, { photo: message.photo });
        break;
      case "card.laser":
      case "card.nhso": {
        const part = PARTS[message.type];
        this._setReader(message.reader, { [part]: partOf(part, message) });
        break;
      }
      case "card.error":
        this._applyCardError(message);
        break;
      case "card.removed":
        this._setReader(message.reader, { state: "empty", ...NO_CARD });
        this._lastRead.delete(message.reader);
        break;
    }
  }

  _applyCardError(message) {
    const current = this.readers.get(message.reader);
    if (message.code === "PHOTO_INVALID" && current?.state === "read") return;
    const state = message.code === "CARD_UNRESPONSIVE" ? "mute" : "error";
    this._setReader(message.reader, { state, error: message.code });
  }

  _setReader(name, changes) {
    if (!name) return;
    const current = this.readers.get(name) ?? { name, state: "empty" };
    this.readers.set(name, { ...current, ...changes });
  }

  _answer(message) {
    if (message.id === undefined || !this._pending.has(message.id)) return;
    const pending = this._pending.get(message.id);
    const lastRead = this._lastRead.get(message.reader);
    if (message.type === "card.read") {
      this._settle(message.id);
      pending.resolve(message);
    } else if (message.type === "card.photo" && lastRead) {
      // The request joined a read whose card.read had gone out already.
      this._settle(message.id);
      pending.resolve({ ...lastRead, id: message.id });
    } else if (message.type === "error" || message.type === "card.error") {
      if (message.code === "PHOTO_INVALID") return;
      this._settle(message.id);
      const error = new TrayAgentError(message.code, message.message, message.reader);
      pending.reject(error);
    }
  }

  _announce(message) {
    const reader = message.reader;
    switch (message.type) {
      case "hello":
        for (const entry of message.readers ?? []) {
          const { name, card, photo } = entry;
          if (card) this._emit("card", { reader: name, card, message });
          if (photo) this._emit("photo", { reader: name, photo, message });
          for (const part of Object.values(PARTS)) {
            if (entry[part]) {
              this._emit(part, { reader: name, ...partOf(part, entry[part]), message });
            }
          }
        }
        break;
      case "card.read":
        this._emit("card", { reader, card: message.card, message });
        break;
      case "card.photo":
        this._emit("photo", { reader, photo: message.photo, message });
        break;
      case "card.laser":
      case "card.nhso": {
        const part = PARTS[message.type];
        this._emit(part, { reader, ...partOf(part, message), message });
        break;
      }
      case "card.removed":
        this._emit("removed", { reader });
        break;
      case "card.error":
        const { code, message: text } = message;
        this._emit("card-error", { reader, code, message: text });
        break;
    }
  }

  _updateState() {
    if (this.access) {
      this._setState(States.WAITING_FOR_APPROVAL);
      return;
    }
    if (!this._gotHello) return;
    const readers = [...this.readers.values()];
    if (this.service !== "available" || readers.length === 0) {
      this._setState(States.NO_READER);
    } else if (readers.some((reader) => CARD_STATES.has(reader.state))) {
      this._setState(States.CARD_IN);
    } else {
      this._setState(States.READY);
    }
  }

  _setState(state) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this._emit("state", { state, previous });
  }

  _settle(id) {
    clearTimeout(this._pending.get(id)?.timer);
    this._pending.delete(id);
  }

  _rejectPending(code, text) {
    for (const [id, pending] of [...this._pending]) {
      this._settle(id);
      pending.reject(new TrayAgentError(code, text));
    }
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** Create a client with `options` and connect it. */
export function connect(options = {}) {
  return new TrayAgentClient(options).connect();
}
